import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { DomainDisk, DomainInterface, DomainInventory } from '@virtfleet/contracts';

/** One XML element, with its attributes and text entity-decoded. */
export interface XmlElement {
  /** The qualified name as written (`qemu:commandline` keeps its prefix). */
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The text directly inside this element (not its children's), trimmed. */
  readonly text: string;
}

// Entities could expand without bound or pull in outside text; libvirt never writes a DOCTYPE.
const DECLARATION = /<!DOCTYPE|<!ENTITY/i;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false, // decoded below, predefined and numeric references only
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeXmlEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return PREDEFINED[ref.toLowerCase()] ?? whole;
  });
}

/**
 * Parses one XML document to its root element. Throws on a DOCTYPE or ENTITY declaration, on
 * input that is not well-formed, and on more or less than one root element.
 */
export function parseXml(xml: string): XmlElement {
  if (DECLARATION.test(xml)) throw new Error('XML with a DOCTYPE or ENTITY declaration is refused');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  let nodes: unknown;
  try {
    nodes = parser.parse(xml);
  } catch (err) {
    throw new Error(`not well-formed XML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const roots = toElements(nodes);
  if (roots.length !== 1 || !roots[0]) throw new Error(`XML must have exactly one root element, found ${roots.length}`);
  return roots[0];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// fast-xml-parser's preserveOrder output: [{ tag: [children], ':@': {attrs} } | { '#text': '…' }].
function toElements(nodes: unknown): XmlElement[] {
  if (!Array.isArray(nodes)) return [];
  const out: XmlElement[] = [];
  for (const node of nodes) {
    if (!isRecord(node)) continue;
    const tag = Object.keys(node).find((k) => k !== ':@' && k !== '#text');
    if (tag === undefined) continue;
    const children = node[tag];
    out.push({
      name: tag,
      attrs: toAttrs(node[':@']),
      children: toElements(children),
      text: Array.isArray(children) ? textOf(children) : '',
    });
  }
  return out;
}

function toAttrs(raw: unknown): Record<string, string> {
  const attrs: Record<string, string> = {};
  if (!isRecord(raw)) return attrs;
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'string') attrs[key] = decodeXmlEntities(value);
  }
  return attrs;
}

function textOf(children: readonly unknown[]): string {
  let text = '';
  for (const child of children) {
    if (isRecord(child) && child['#text'] !== undefined) text += String(child['#text']);
  }
  return decodeXmlEntities(text).trim();
}

export function childElements(el: XmlElement | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.name === name) : [];
}

export function childElement(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

/** Text of the first child named `name`; undefined when absent or empty. */
export function childText(el: XmlElement | undefined, name: string): string | undefined {
  const text = childElement(el, name)?.text;
  return text ? text : undefined;
}

// libvirt's scaled integers (docs: formatdomain "memory"): the default unit is KiB.
const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1, bytes: 1,
  kb: 1e3, k: 1024, kib: 1024,
  mb: 1e6, m: 1024 ** 2, mib: 1024 ** 2,
  gb: 1e9, g: 1024 ** 3, gib: 1024 ** 3,
  tb: 1e12, t: 1024 ** 4, tib: 1024 ** 4,
  pb: 1e15, p: 1024 ** 5, pib: 1024 ** 5,
  eb: 1e18, e: 1024 ** 6, eib: 1024 ** 6,
};

/** A libvirt scaled integer (`<memory unit='MiB'>64</memory>`, `<capacity unit='bytes'>…`) in bytes. */
export function scaledToBytes(value: string, unit: string | undefined, defaultUnit = 'KiB'): number | undefined {
  if (!/^\d+$/.test(value.trim())) return undefined;
  const factor = UNIT_BYTES[(unit ?? defaultUnit).toLowerCase()];
  return factor === undefined ? undefined : Number(value.trim()) * factor;
}

function memoryMiB(el: XmlElement | undefined): number | undefined {
  if (!el) return undefined;
  const bytes = scaledToBytes(el.text, el.attrs['unit']);
  return bytes === undefined ? undefined : Math.floor(bytes / 1024 ** 2);
}

function intAttr(el: XmlElement | undefined, name: string): number | undefined {
  const raw = el?.attrs[name];
  return raw !== undefined && /^-?\d+$/.test(raw) ? Number(raw) : undefined;
}

/** The fields of a DomainInventory that come from the domain XML. */
export type DomainXmlFacts = Pick<
  DomainInventory,
  'uuid' | 'name' | 'vcpus' | 'maxVcpus' | 'memoryMiB' | 'maxMemoryMiB' | 'virtType' | 'osType' | 'disks' | 'interfaces' | 'graphics' | 'serialLog' | 'xml'
>;

/** `virsh dumpxml` → inventory fields. Throws on XML that is not a domain with a name and a UUID. */
export function parseDomainXml(xml: string): DomainXmlFacts {
  const domain = parseXml(xml);
  if (domain.name !== 'domain') throw new Error(`expected a <domain> document, got <${domain.name}>`);
  const name = childText(domain, 'name');
  const uuid = childText(domain, 'uuid');
  if (!name || !uuid) throw new Error('domain XML without a name or a UUID');
  const vcpu = childElement(domain, 'vcpu');
  const maxVcpus = /^\d+$/.test(vcpu?.text ?? '') ? Number(vcpu?.text) : 1;
  const maxMemoryMiB = memoryMiB(childElement(domain, 'memory')) ?? 0;
  const devices = childElement(domain, 'devices');
  const virtType = domain.attrs['type'];
  const osType = childText(childElement(domain, 'os'), 'type');
  const serialLog = serialLogOf(devices);
  return {
    uuid,
    name,
    vcpus: intAttr(vcpu, 'current') ?? maxVcpus,
    maxVcpus,
    memoryMiB: memoryMiB(childElement(domain, 'currentMemory')) ?? maxMemoryMiB,
    maxMemoryMiB,
    ...(virtType ? { virtType } : {}),
    ...(osType ? { osType } : {}),
    disks: childElements(devices, 'disk').map(parseDisk),
    interfaces: childElements(devices, 'interface').map(parseInterface),
    graphics: childElements(devices, 'graphics').map(parseGraphics),
    ...(serialLog ? { serialLog } : {}),
    xml,
  };
}

// The same order `virsh domblklist` reads a disk's source in.
function diskSource(source: XmlElement | undefined): string | undefined {
  const a = source?.attrs ?? {};
  return a['file'] ?? a['dev'] ?? a['dir'] ?? a['name'] ?? a['volume'] ?? a['path'];
}

export function parseDisk(disk: XmlElement): DomainDisk {
  const type = disk.attrs['type'] ?? 'file';
  const target = childElement(disk, 'target');
  const source = diskSource(childElement(disk, 'source'));
  const format = childElement(disk, 'driver')?.attrs['type'];
  const bus = target?.attrs['bus'];
  const bootOrder = intAttr(childElement(disk, 'boot'), 'order');
  return {
    target: target?.attrs['dev'] ?? '',
    device: disk.attrs['device'] ?? 'disk',
    ...(bus ? { bus } : {}),
    type,
    ...(source ? { source } : {}),
    ...(format ? { format } : {}),
    readonly: childElement(disk, 'readonly') !== undefined,
    ...(bootOrder !== undefined ? { bootOrder } : {}),
  };
}

export function parseInterface(iface: XmlElement): DomainInterface {
  const source = childElement(iface, 'source')?.attrs ?? {};
  const network = source['network'];
  // A running domain's XML shows the *actual* type: an interface on a libvirt network of
  // forward mode 'bridge' reads type='bridge' with source network=…. Reporting the configured
  // type keeps the inventory from changing every time the domain starts or stops.
  const type = network ? 'network' : (iface.attrs['type'] ?? 'network');
  const fields: Record<string, string | undefined> = {
    mac: childElement(iface, 'mac')?.attrs['address'],
    network,
    bridge: source['bridge'],
    model: childElement(iface, 'model')?.attrs['type'],
    target: childElement(iface, 'target')?.attrs['dev'],
    virtualport: childElement(iface, 'virtualport')?.attrs['type'],
  };
  return { type, ...definedOnly(fields) };
}

function definedOnly(fields: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) if (value) out[key] = value;
  return out;
}

export function parseGraphics(graphics: XmlElement): DomainInventory['graphics'][number] {
  const listen = graphics.attrs['listen'] ?? childElement(graphics, 'listen')?.attrs['address'];
  const port = intAttr(graphics, 'port');
  const autoport = graphics.attrs['autoport'];
  return {
    type: graphics.attrs['type'] ?? 'unknown',
    ...(listen ? { listen } : {}),
    // -1 means "not allocated yet" (autoport on a domain that is not running)
    ...(port !== undefined && port >= 0 ? { port } : {}),
    ...(autoport !== undefined ? { autoport: autoport === 'yes' } : {}),
  };
}

function serialLogOf(devices: XmlElement | undefined): string | undefined {
  for (const kind of ['serial', 'console']) {
    for (const dev of childElements(devices, kind)) {
      const file = childElement(dev, 'log')?.attrs['file'];
      if (file) return file;
    }
  }
  return undefined;
}
