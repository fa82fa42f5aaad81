import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { decodeXmlEntities, parseXml } from './domain-xml';

export interface CloneXmlOptions {
  /** The clone's `<name>`. */
  name: string;
  /** The clone's `<uuid>`. */
  uuid: string;
  /** One per `<devices><interface>`, in document order. */
  macs: readonly string[];
  /** Disk target dev (vda, sdb …) → the clone's own file: <source file> is set to it. Disks not listed keep their source (shared: cdroms, read-only disks). */
  disks: Readonly<Record<string, string>>;
  /** Where the clone's serial/console log goes: every <serial>/<console> <log file=…> is set to it. */
  serialLogPath?: string;
}

export interface CloneXmlResult {
  xml: string;
  warnings: string[];
}

export class CloneXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CloneXmlError';
  }
}

// Entities stay encoded on the way in and are not re-encoded on the way out, so untouched text and
// attributes keep their exact escaping; only the values set here are escaped (by escapeXml).
// CDATA and comments get their own keys, else the builder writes CDATA text unescaped. Processing
// instructions, the XML declaration among them, are dropped: the builder would write them without
// their content (virsh writes none, and the caller decides the encoding).
const OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignorePiTags: true,
  commentPropName: '#comment',
  cdataPropName: '#cdata',
  suppressEmptyNode: true,
} as const;
const parser = new XMLParser(OPTIONS);
const builder = new XMLBuilder(OPTIONS);

/** preserveOrder's node: `{ tag: children, ':@': attrs }`, or `{ '#text': … }`, `{ '#comment': … }`, `{ '?xml': … }`. */
type XmlNode = Record<string, unknown>;

const tagOf = (node: XmlNode) => Object.keys(node).find((k) => k !== ':@' && k[0] !== '#' && k[0] !== '?');
const kids = (node: XmlNode): XmlNode[] => {
  const children = node[tagOf(node) ?? '#none'];
  return Array.isArray(children) ? (children as XmlNode[]) : [];
};
const childrenOf = (nodes: readonly XmlNode[], ...names: string[]) =>
  nodes.flatMap((n) => kids(n).filter((k) => names.includes(tagOf(k) ?? '')));
const attrs = (node: XmlNode) => (node[':@'] ??= {}) as Record<string, string>;
const attr = (node: XmlNode, name: string) => {
  const raw = (node[':@'] as Record<string, string> | undefined)?.[name];
  return raw === undefined ? undefined : decodeXmlEntities(raw);
};
const setKids = (node: XmlNode, children: XmlNode[]) => (node[tagOf(node) as string] = children);
const setText = (node: XmlNode, text: string) => setKids(node, [{ '#text': escapeXml(text) }]);
// The whitespace text just before index i, to indent an inserted element like its neighbours.
const indentBefore = (list: readonly XmlNode[], i: number) => {
  const text = list[i - 1]?.['#text'];
  return typeof text === 'string' && text.trim() === '' ? [{ '#text': text }] : [];
};

function escapeXml(value: string): string {
  const map: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
  return value.replace(/[&<>"']/g, (c) => map[c] ?? c);
}

/**
 * The XML of a clone of a domain, from its inactive XML (`virsh dumpxml --inactive --security-info`),
 * for `virsh define`: what virt-clone changes, but deterministic and copying nothing (the caller
 * copies the disks). Everything not named in the options is kept as it is.
 */
export function cloneDomainXml(xml: string, opts: CloneXmlOptions): CloneXmlResult {
  let rootName: string;
  try {
    rootName = parseXml(xml).name; // refuses DOCTYPE/ENTITY, malformed input, and not one root
  } catch (err) {
    throw new CloneXmlError(err instanceof Error ? err.message : String(err));
  }
  if (rootName !== 'domain') throw new CloneXmlError(`expected a <domain> document, got <${rootName}>`);
  const doc = parser.parse(xml) as XmlNode[];
  const domain = doc.find((n) => tagOf(n) === 'domain') as XmlNode;
  const top = kids(domain);
  const warnings: string[] = [];

  const nameAt = top.findIndex((n) => tagOf(n) === 'name');
  if (nameAt < 0) throw new CloneXmlError('domain XML without a <name>');
  setText(top[nameAt] as XmlNode, opts.name);
  const uuids = childrenOf([domain], 'uuid');
  uuids.forEach((u) => setText(u, opts.uuid));
  if (uuids.length === 0) top.splice(nameAt + 1, 0, ...indentBefore(top, nameAt), { uuid: [{ '#text': escapeXml(opts.uuid) }] });

  // libvirt refuses an SMBIOS system UUID that differs from the domain's.
  const smbios = childrenOf([domain], 'sysinfo').filter((s) => attr(s, 'type') === 'smbios');
  for (const entry of childrenOf(childrenOf(smbios, 'system'), 'entry')) if (attr(entry, 'name') === 'uuid') setText(entry, opts.uuid);

  childrenOf([domain], 'genid').forEach((g) => setKids(g, [])); // empty: libvirt generates a new one

  const devices = childrenOf([domain], 'devices');
  const ifaces = childrenOf(devices, 'interface');
  if (ifaces.length !== opts.macs.length) {
    throw new CloneXmlError(`the domain has ${ifaces.length} interface(s) but ${opts.macs.length} MAC address(es) were given`);
  }
  ifaces.forEach((iface, i) => {
    const address = escapeXml(opts.macs[i] as string);
    const [mac] = childrenOf([iface], 'mac');
    if (mac) {
      attrs(mac)['address'] = address;
      return;
    }
    const list = kids(iface);
    const first = Math.max(0, list.findIndex((n) => tagOf(n) !== undefined));
    list.splice(first, 0, { mac: [], ':@': { address } }, ...indentBefore(list, first));
  });

  const disks = childrenOf(devices, 'disk');
  for (const [target, file] of Object.entries(opts.disks)) {
    const disk = disks.find((d) => childrenOf([d], 'target').some((t) => attr(t, 'dev') === target));
    if (!disk) throw new CloneXmlError(`no disk with target ${target}`);
    const source = childrenOf([disk], 'source').find((s) => attr(s, 'file') !== undefined);
    if ((attr(disk, 'type') ?? 'file') !== 'file' || !source) {
      throw new CloneXmlError(`disk ${target} is not a file disk with a source file: only file disks can be given new files`);
    }
    attrs(source)['file'] = escapeXml(file);
    // The copy is flattened: drop each <backingStore> with the whitespace before it.
    const list = kids(disk);
    for (let i = list.length - 1; i >= 0; i--) {
      if (tagOf(list[i] as XmlNode) !== 'backingStore') continue;
      const ws = indentBefore(list, i).length;
      list.splice(i - ws, 1 + ws);
    }
  }

  for (const log of childrenOf(childrenOf(devices, 'serial', 'console'), 'log')) {
    if (attr(log, 'file') === undefined) continue;
    if (opts.serialLogPath === undefined) {
      throw new CloneXmlError('the domain logs its serial console but no serialLogPath was given: the clone would share the log');
    }
    attrs(log)['file'] = escapeXml(opts.serialLogPath);
  }

  for (const graphics of childrenOf(devices, 'graphics')) {
    if (attr(graphics, 'autoport') !== 'no') continue;
    const a = attrs(graphics);
    const was = `${attr(graphics, 'type') ?? 'graphics'} port ${attr(graphics, 'port') ?? '?'}`;
    warnings.push(`${was} was fixed, the clone's is automatic (two domains cannot listen on one port)`);
    a['autoport'] = 'yes';
    for (const fixed of ['port', 'tlsPort', 'websocket']) delete a[fixed];
  }

  const nvrams = childrenOf(childrenOf([domain], 'os'), 'nvram');
  nvrams.forEach((n) => setKids(n, [])); // no path: libvirt makes a fresh file from the template
  if (nvrams.length > 0) warnings.push('UEFI variables start from the template');
  const tpms = childrenOf(devices, 'tpm').filter((t) => childrenOf([t], 'backend').some((b) => attr(b, 'type') === 'emulator'));
  if (tpms.length > 0) warnings.push('TPM state starts empty (swtpm keeps it per domain UUID)');

  const out = builder.build(doc) as string;
  // The parser keeps no text outside the root element; virsh ends its XML with a newline.
  return { xml: xml.endsWith('\n') && !out.endsWith('\n') ? `${out}\n` : out, warnings };
}
