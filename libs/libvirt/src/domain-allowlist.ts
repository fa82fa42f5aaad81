import { posix } from 'node:path';
import { childElement, childElements, childText, parseXml, type XmlElement } from './domain-xml';

export interface DomainAllowlistOptions {
  /** Absolute storage roots every host path in the XML must be inside (the agent's store and ISO roots). */
  readonly roots: readonly string[];
}

export interface DomainAllowlistResult {
  /** The domain's <name>, '' when there is none (that is a violation too). */
  name: string;
  uuid?: string;
  /** Empty when the XML may be defined. Each entry names where and why. */
  violations: string[];
}

/**
 * Checks domain XML a client handed in (define-vm) against what the agent lets through
 * (DESIGN.md, safety rules). It only reads the text: symlinks, `realpath` and whether a file is
 * one of ours are checked by the agent on the host before it defines anything.
 *
 * Refused:
 * - DOCTYPE/ENTITY declarations; input that is not one well-formed <domain> document; no <name>.
 * - The QEMU namespace anywhere (<qemu:commandline>, <qemu:override> …, also through a default
 *   xmlns), and any namespaced element outside <metadata> (libvirt keeps <metadata> opaque).
 * - <hostdev>, <emulator>, <filesystem>; <interface> of any type but network, bridge and user,
 *   <script>/<downscript> (host scripts), <portForward> (host ports).
 * - <seclabel> of type none or static, relabel='no', or with a <baselabel> or device <label>.
 * - <disk> of any type but file: block/network/dir/nvme/vhostuser reach host devices or
 *   storage outside the roots, and `volume` names a pool whose target this text check cannot see.
 * - Every host path (disk/backing/mirror source, loader, nvram and its template, kernel,
 *   initrd, dtb, ACPI tables, serial/console logs and sockets, graphics sockets, TPM/input/
 *   NIC backend devices, …) that is not absolute, normalised (no `.`/`..`/`//`) and strictly
 *   inside one of the roots. So UEFI is chosen with <os firmware='efi'>, never a loader path.
 * - tcp/udp character devices (a guest console on a host socket).
 * - vnc/spice graphics listening on 0.0.0.0 or :: without a passwd.
 */
export function checkDomainXmlAllowlist(xml: string, options: DomainAllowlistOptions): DomainAllowlistResult {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    return { name: '', violations: [err instanceof Error ? err.message : String(err)] };
  }
  if (root.name !== 'domain') return { name: '', violations: [`the root element is <${root.name}>, not <domain>`] };
  const name = childText(root, 'name') ?? '';
  const uuid = childText(root, 'uuid');
  const violations: string[] = name ? [] : ['the domain has no <name>'];
  walk(root, { roots: normaliseRoots(options.roots), where: 'domain', inMetadata: false }, violations);
  return { name, ...(uuid ? { uuid } : {}), violations };
}

interface Context {
  readonly roots: readonly string[];
  /** domain/devices/disk/source, for the messages. */
  readonly where: string;
  readonly inMetadata: boolean;
  readonly parent?: XmlElement;
}

function walk(el: XmlElement, ctx: Context, out: string[]): void {
  out.push(...namespaceViolations(el, ctx));
  if (!ctx.inMetadata) out.push(...elementViolations(el, ctx), ...pathViolations(el, ctx));
  for (const child of el.children) {
    walk(child, { roots: ctx.roots, where: `${ctx.where}/${child.name}`, inMetadata: ctx.inMetadata || child.name === 'metadata', parent: el }, out);
  }
}

const QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0';

function namespaceViolations(el: XmlElement, ctx: Context): string[] {
  const out: string[] = [];
  for (const [attr, value] of Object.entries(el.attrs)) {
    if ((attr === 'xmlns' || attr.startsWith('xmlns:')) && value.trim() === QEMU_NS) {
      out.push(`${ctx.where}: the QEMU namespace (${attr}) is not allowed`);
    }
  }
  if (!ctx.inMetadata && el.name.includes(':')) out.push(`${ctx.where}: namespaced elements are only allowed inside <metadata>`);
  return out;
}

const REFUSED_ELEMENTS: Readonly<Record<string, string>> = {
  hostdev: 'host device passthrough is not allowed',
  emulator: 'the emulator is the host’s choice, not the client’s',
  filesystem: 'sharing host directories is not allowed',
  script: 'host scripts are not allowed',
  downscript: 'host scripts are not allowed',
  portForward: 'forwarding host ports is not allowed',
};

const ALLOWED_INTERFACES = new Set(['network', 'bridge', 'user']);
const CHARDEVS = new Set(['serial', 'console', 'parallel', 'channel', 'redirdev', 'smartcard']);

function elementViolations(el: XmlElement, ctx: Context): string[] {
  const refused = REFUSED_ELEMENTS[el.name];
  if (refused) return [`${ctx.where}: ${refused}`];
  const type = el.attrs['type'];
  switch (el.name) {
    case 'seclabel':
      return optional(seclabelViolation(el), ctx);
    case 'disk':
      return type === undefined || type === 'file' ? [] : [`${ctx.where}: <disk type='${type}'> is not allowed, only file disks`];
    case 'interface':
      return type !== undefined && ALLOWED_INTERFACES.has(type) ? [] : [`${ctx.where}: <interface type='${type ?? ''}'> is not allowed`];
    case 'graphics':
      return optional(graphicsViolation(el), ctx);
    default:
      return CHARDEVS.has(el.name) && (type === 'tcp' || type === 'udp') ? [`${ctx.where}: a ${type} character device opens a host socket`] : [];
  }
}

function optional(message: string | undefined, ctx: Context): string[] {
  return message ? [`${ctx.where}: ${message}`] : [];
}

function seclabelViolation(el: XmlElement): string | undefined {
  const type = el.attrs['type'];
  if (type === 'none') return "<seclabel type='none'> turns confinement off";
  if (type === 'static') return "<seclabel type='static'> sets a label of the client’s choosing";
  if (el.attrs['relabel'] === 'no') return "<seclabel relabel='no'> is not allowed";
  if (childElement(el, 'baselabel')) return '<seclabel> with a <baselabel> is not allowed';
  // A device-level seclabel has no type; a domain-level dynamic one's <label> is output only.
  if (type === undefined && childElement(el, 'label')) return '<seclabel> with a <label> is not allowed';
  return undefined;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0']);

function graphicsViolation(el: XmlElement): string | undefined {
  const type = el.attrs['type'];
  if ((type !== 'vnc' && type !== 'spice') || el.attrs['passwd']) return undefined;
  const addresses = [el.attrs['listen'], ...childElements(el, 'listen').map((l) => l.attrs['address'])];
  return addresses.some((a) => a !== undefined && WILDCARDS.has(a.trim()))
    ? `<graphics type='${type}'> listens on all addresses without a passwd`
    : undefined;
}

// Attributes that hold a host path wherever they appear.
const PATH_ATTRS = ['file', 'path', 'dir', 'socket', 'evdev', 'rendernode', 'template', 'tap', 'vhost'];
// Elements whose text is a host path.
const PATH_TEXT = new Set(['kernel', 'initrd', 'dtb', 'loader', 'nvram', 'shim', 'table', 'path', 'database']);
const RNG_DEVICES = new Set(['/dev/urandom', '/dev/random']);

function pathViolations(el: XmlElement, ctx: Context): string[] {
  const out: string[] = [];
  const check = (label: string, value: string) => {
    const why = pathProblem(value, ctx.roots);
    if (why) out.push(`${ctx.where}${label} '${value}' ${why}`);
  };
  for (const attr of PATH_ATTRS) {
    const value = el.attrs[attr];
    if (value !== undefined && !isPtyPath(el, attr, ctx)) check(`@${attr}`, value);
  }
  // `dev` is a guest device name on <target>/<boot>; only on <source> is it a host device.
  if (el.name === 'source' && el.attrs['dev'] !== undefined) check('@dev', el.attrs['dev']);
  if (PATH_TEXT.has(el.name) && el.text) check('', el.text);
  if (el.name === 'backend' && ctx.parent?.name === 'rng' && el.attrs['model'] === 'random' && el.text && !RNG_DEVICES.has(el.text)) {
    out.push(`${ctx.where} '${el.text}' is not an allowed entropy source (/dev/urandom, /dev/random)`);
  }
  return out;
}

// libvirt reads a pty's <source path> only from live XML (it is the /dev/pts/N it got), never on define.
function isPtyPath(el: XmlElement, attr: string, ctx: Context): boolean {
  return attr === 'path' && el.name === 'source' && ctx.parent !== undefined && CHARDEVS.has(ctx.parent.name) && ctx.parent.attrs['type'] === 'pty';
}

function normaliseRoots(roots: readonly string[]): string[] {
  return roots.filter((r) => r.startsWith('/')).map((r) => posix.normalize(r).replace(/(.)\/+$/, '$1'));
}

/** Why `value` is not a path inside one of `roots`, or undefined when it is. */
export function pathProblem(value: string, roots: readonly string[]): string | undefined {
  if (!value.startsWith('/')) return 'is not an absolute path';
  if (value.includes('\0')) return 'holds a NUL byte';
  if (value.split('/').some((seg) => seg === '..' || seg === '.') || posix.normalize(value) !== value) {
    return 'is not a normalised path';
  }
  const inside = normaliseRoots(roots).some((root) => value !== root && value.startsWith(root === '/' ? '/' : `${root}/`));
  return inside ? undefined : 'is outside the storage roots';
}
