import { posix } from 'node:path';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { createVmPayload } from '@virtfleet/contracts';
import type { CreateVmBody, PlacementDecision, VirtfleetClient } from '@virtfleet/sdk';
import type { Ctx, WaitFlags } from '../context';
import { waitable } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { printJson, printTable, type Output } from '../output';
import { readInput } from '../input';
import { parseLabels } from '../labels';
import { hostIdOf } from '../resolve';
import { parseSize, sizeMiB, wholeNumber } from '../size';

// `virtfleet vms create`: virt-install's flags, as the operation guide uses them, turned into the
// create-vm body of POST /v1/vms (docs/vms.md). Nothing here builds a command line: the values end
// up in JSON, checked by the contract's schema here and again by the API and the agent.

/** The options of `vms create` as commander hands them over (every value still text). */
export interface VmCreateFlags extends WaitFlags {
  name?: string;
  memory?: string;
  maxMemory?: string;
  vcpus?: string;
  cpuset?: string;
  disk?: string[];
  network?: string[];
  import?: boolean;
  cdrom?: string;
  location?: string;
  extraArgs?: string;
  pxe?: boolean;
  boot?: string;
  graphics?: string;
  osVariant?: string;
  osinfo?: string;
  /** false with --no-serial; commander's default true says nothing. */
  serial?: boolean;
  autostart?: boolean;
  waitFor?: string;
  readyMarker?: string;
  readyTimeout?: string;
  label?: string[];
  host?: string;
  hostSelector?: string;
  dryRun?: boolean;
  fromFile?: string;
  /** virt-install flags of the guide's line that virtfleet has no use for (accepted, ignored). */
  virtType?: string;
  osType?: string;
  accelerate?: boolean;
  noautoconsole?: boolean;
}

type Body = Record<string, unknown>;

const usage = (message: string, hint?: string) => new CliError(EXIT.usage, message, hint);

const INSTALL_CHOICES =
  '--import (boot the first disk as it is), --cdrom ISO, --location ISO|URL [--extra-args …], --pxe, or --boot kernel=K[,initrd=I][,kernel_args=…]';

// ---------------------------------------------------------------------------------------------
// virt-install's comma syntax

interface Item {
  /** Lower-cased; undefined for a bare value ("vnc", "hd", a disk path). */
  key: string | undefined;
  value: string;
}

/**
 * "a,b=c,d=e" → items, each split at its first "=". A key in `rest` takes the rest of the text,
 * commas and all (virt-install's cpuset= and kernel_args=). A key given twice is refused.
 */
function commaItems(text: string, flag: string, rest: readonly string[] = []): Item[] {
  const tokens = text.split(',');
  const items: Item[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    const eq = token.indexOf('=');
    if (eq < 0) {
      if (token.trim() === '') throw usage(`${flag} ${JSON.stringify(text)}: an empty item (two commas, or one at an end)`);
      items.push({ key: undefined, value: token.trim() });
      continue;
    }
    const key = token.slice(0, eq).trim().toLowerCase();
    if (key === '') throw usage(`${flag} ${JSON.stringify(text)}: "=${token.slice(eq + 1)}" has no key`);
    if (seen.has(key)) throw usage(`${flag} ${JSON.stringify(text)}: ${key} is given twice`);
    seen.add(key);
    if (rest.includes(key)) {
      items.push({ key, value: [token.slice(eq + 1), ...tokens.slice(i + 1)].join(',') });
      break;
    }
    items.push({ key, value: token.slice(eq + 1) });
  }
  return items;
}

function unknownKey(flag: string, text: string, key: string, keys: readonly string[]): CliError {
  return usage(`${flag} ${JSON.stringify(text)}: unknown key ${key}`, `${flag} takes ${keys.map((k) => `${k}=`).join(', ')}`);
}

function bareValue(flag: string, text: string, value: string, what: string): CliError {
  return usage(`${flag} ${JSON.stringify(text)}: ${JSON.stringify(value)} needs a key`, what);
}

/** A path's last part: install media and disks are names in the host's iso and store roots. */
function baseName(text: string, flag: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(text.trim())) {
    throw usage(`${flag} ${JSON.stringify(text)}: give a file name, not a URL`, 'copy the file into the host’s iso root (disks: its store root) and give its name');
  }
  const base = posix.basename(text.trim());
  if (base === '' || base === '.' || base === '..') throw usage(`${flag} ${JSON.stringify(text)}: give a file name`);
  return base;
}

function unquote(text: string): string {
  const t = text.trim();
  return t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0] ? t.slice(1, -1) : t;
}

// ---------------------------------------------------------------------------------------------
// One flag at a time

/** --memory 1024 | 2G | memory=4096,currentMemory=2048 (virt-install: MiB unless a unit is given). */
export function parseMemory(text: string): { memoryMiB: number; maxMemoryMiB?: number } {
  const flag = '--memory';
  let memory: number | undefined;
  let current: number | undefined;
  for (const [i, item] of commaItems(text, flag).entries()) {
    const key = item.key ?? (i === 0 ? 'memory' : undefined);
    if (key === undefined) throw bareValue(flag, text, item.value, 'give memory=SIZE or currentMemory=SIZE');
    if (key === 'memory') memory = sizeMiB(item.value, flag, 'M');
    else if (key === 'currentmemory') current = sizeMiB(item.value, `${flag} currentMemory`, 'M');
    else throw unknownKey(flag, text, key, ['memory', 'currentMemory']);
  }
  if (memory === undefined) throw usage(`${flag} ${JSON.stringify(text)}: give the memory, e.g. 1024 (MiB) or 2G`);
  return current === undefined ? { memoryMiB: memory } : { memoryMiB: current, maxMemoryMiB: memory };
}

/** --vcpus 2 | 2,maxvcpus=4,cpuset=0-3,6 (cpuset takes the rest, commas and all, as in virt-install). */
export function parseVcpus(text: string): { vcpus: number; maxVcpus?: number; cpuset?: string } {
  const flag = '--vcpus';
  const out: { vcpus?: number; maxVcpus?: number; cpuset?: string } = {};
  for (const [i, item] of commaItems(text, flag, ['cpuset']).entries()) {
    const key = item.key ?? (i === 0 ? 'vcpus' : undefined);
    if (key === undefined) throw bareValue(flag, text, item.value, 'give vcpus=N, maxvcpus=M or cpuset=LIST');
    if (key === 'vcpus') out.vcpus = wholeNumber(item.value, flag, 1);
    else if (key === 'maxvcpus') out.maxVcpus = wholeNumber(item.value, `${flag} maxvcpus`, 1);
    else if (key === 'cpuset') out.cpuset = item.value;
    else throw unknownKey(flag, text, key, ['vcpus', 'maxvcpus', 'cpuset']);
  }
  if (out.vcpus === undefined) throw usage(`${flag} ${JSON.stringify(text)}: give the number of vCPUs, e.g. 2 or 2,maxvcpus=4`);
  return out as { vcpus: number; maxVcpus?: number; cpuset?: string };
}

/** A disk as a flag gives it; the name may still be missing (it is the VM's then). */
export interface DiskFlag {
  name?: string;
  sizeGiB?: number;
  format?: string;
  bus?: string;
}

const DISK_KEYS = ['path', 'name', 'size', 'format', 'bus'] as const;
const DISK_ALIASES: Record<string, (typeof DISK_KEYS)[number]> = { 'driver.type': 'format', 'target.bus': 'bus' };
const IMAGE_EXT = /\.(qcow2|raw|img)$/i;

/**
 * --disk size=20,format=qcow2,bus=virtio | name=vm1-data,size=5 | path=/kvm/store/vm1.qcow2,size=20 |
 * /kvm/store/vm1.qcow2,size=20 (virt-install's bare path) | none. A path gives the disk's name (its
 * last part without .qcow2/.raw/.img) and, unless format= says otherwise, its format (.img is raw).
 */
export function parseDisk(text: string): DiskFlag | 'none' {
  const flag = '--disk';
  const items = commaItems(text, flag);
  if (items.length === 1 && items[0]?.key === undefined && items[0]?.value === 'none') return 'none';
  const disk: DiskFlag = {};
  let path: string | undefined;
  for (const [i, item] of items.entries()) {
    const raw = item.key ?? (i === 0 ? 'path' : undefined);
    if (raw === undefined) throw bareValue(flag, text, item.value, `give ${DISK_KEYS.map((k) => `${k}=`).join(', ')}`);
    const key = DISK_ALIASES[raw] ?? raw;
    if (key !== raw && items.some((x) => x.key === key)) throw usage(`${flag} ${JSON.stringify(text)}: ${key} is given twice (${raw}=)`);
    switch (key) {
      case 'path':
        path = item.value;
        break;
      case 'name':
        disk.name = item.value;
        break;
      case 'size': {
        const bytes = parseSize(item.value, `${flag} size`, 'G');
        if (bytes % 1024 ** 3 !== 0) throw usage(`${flag} size=${item.value}: disks are made in whole GiB (size=1 is 1 GiB)`);
        disk.sizeGiB = bytes / 1024 ** 3;
        break;
      }
      case 'format':
        disk.format = item.value;
        break;
      case 'bus':
        disk.bus = item.value;
        break;
      default:
        throw unknownKey(flag, text, raw, DISK_KEYS);
    }
  }
  if (path !== undefined) {
    if (disk.name !== undefined) throw usage(`${flag} ${JSON.stringify(text)}: give path= or name=, not both`);
    const base = baseName(path, `${flag} path`);
    const ext = IMAGE_EXT.exec(base)?.[1]?.toLowerCase();
    disk.name = ext ? base.slice(0, -(ext.length + 1)) : base;
    if (disk.format === undefined && ext) disk.format = ext === 'qcow2' ? 'qcow2' : 'raw';
  }
  return disk;
}

/** A NIC as a flag gives it. */
export interface NicFlag {
  network?: string;
  bridge?: string;
  model?: string;
  mac?: string;
}

const NIC_KEYS = ['network', 'bridge', 'model', 'mac'] as const;
const NIC_ALIASES: Record<string, (typeof NIC_KEYS)[number]> = { 'model.type': 'model', 'mac.address': 'mac' };

/** --network network=nat0,model=virtio[,mac=…] | bridge=br0,model=e1000 | default | network:N | bridge:B | none. */
export function parseNetwork(text: string): NicFlag | 'none' {
  const flag = '--network';
  const items = commaItems(text, flag);
  const nic: NicFlag = {};
  for (const [i, item] of items.entries()) {
    if (item.key === undefined) {
      if (i > 0) throw bareValue(flag, text, item.value, `give ${NIC_KEYS.map((k) => `${k}=`).join(', ')}`);
      if (item.value === 'none') {
        if (items.length > 1) throw usage(`${flag} none takes nothing else`);
        return 'none';
      }
      // virt-install's shorthands: "default" (libvirt's default network), "network:NAME", "bridge:NAME".
      const legacy = /^(network|bridge):(.+)$/.exec(item.value);
      if (item.value === 'default') nic.network = 'default';
      else if (legacy) nic[legacy[1] as 'network' | 'bridge'] = legacy[2] as string;
      else throw bareValue(flag, text, item.value, 'give network=NAME (a libvirt network) or bridge=NAME (a host bridge)');
      continue;
    }
    const key = NIC_ALIASES[item.key] ?? item.key;
    if (!(NIC_KEYS as readonly string[]).includes(key)) throw unknownKey(flag, text, item.key, NIC_KEYS);
    if (nic[key as keyof NicFlag] !== undefined) throw usage(`${flag} ${JSON.stringify(text)}: ${key} is given twice`);
    nic[key as keyof NicFlag] = item.value;
  }
  return nic;
}

const GRAPHICS_KEYS = ['listen', 'port', 'password'] as const;

/** --graphics none | vnc[,listen=ADDR][,port=N|-1][,password=P]. */
export function parseGraphics(text: string): Body {
  const flag = '--graphics';
  const items = commaItems(text, flag);
  let type: string | undefined;
  const g: Body = {};
  for (const [i, item] of items.entries()) {
    if (item.key === undefined || item.key === 'type') {
      if (type !== undefined || (item.key === undefined && i > 0)) throw bareValue(flag, text, item.value, `give ${GRAPHICS_KEYS.map((k) => `${k}=`).join(', ')}`);
      type = item.value.toLowerCase();
      continue;
    }
    if (item.key === 'listen') g.listen = item.value;
    else if (item.key === 'password') g.password = item.value;
    else if (item.key === 'port') {
      // virt-install's port=-1 (and "auto") is autoport: leave it out.
      if (item.value !== '-1' && item.value !== 'auto') g.port = wholeNumber(item.value, `${flag} port`, 1);
    } else throw unknownKey(flag, text, item.key, GRAPHICS_KEYS);
  }
  if (type === 'none') {
    if (Object.keys(g).length > 0 || items.length > 1) throw usage(`${flag} none takes nothing else`);
    return { type: 'none' };
  }
  if (type === 'vnc' || (type === undefined && Object.keys(g).length > 0)) return { type: 'vnc', ...g };
  throw usage(`${flag} ${JSON.stringify(text)}: give vnc[,listen=…,port=…,password=…] or none`, type ? `virtfleet makes VNC displays only, not ${type}` : undefined);
}

const BOOT_DEVICES = ['hd', 'cdrom', 'network'] as const;
const BOOT_KEYS = ['kernel', 'initrd', 'kernel_args'] as const;

/**
 * --boot hd,cdrom (boot order) and/or kernel=K,initrd=I,kernel_args=ARGS (direct kernel boot;
 * kernel_args, or cmdline, takes the rest of the text, commas and all; one pair of quotes around it is dropped).
 */
export function parseBoot(text: string): { boot?: string[]; kernel?: { kernel: string; initrd?: string; cmdline?: string } } {
  const flag = '--boot';
  const boot: string[] = [];
  const k: { kernel?: string; initrd?: string; cmdline?: string } = {};
  for (const item of commaItems(text, flag, ['kernel_args', 'cmdline'])) {
    if (item.key === undefined) {
      if (!(BOOT_DEVICES as readonly string[]).includes(item.value)) {
        throw usage(`${flag} ${JSON.stringify(text)}: unknown boot device ${item.value}`, `boot devices are ${BOOT_DEVICES.join(', ')}; a kernel boot is kernel=…,initrd=…,kernel_args=…`);
      }
      boot.push(item.value);
    } else if (item.key === 'kernel') k.kernel = baseName(item.value, `${flag} kernel`);
    else if (item.key === 'initrd') k.initrd = baseName(item.value, `${flag} initrd`);
    else if (item.key === 'kernel_args' || item.key === 'cmdline') {
      if (k.cmdline !== undefined) throw usage(`${flag} ${JSON.stringify(text)}: give kernel_args= once`);
      k.cmdline = unquote(item.value);
    } else throw unknownKey(flag, text, item.key, BOOT_KEYS);
  }
  if (k.kernel === undefined && (k.initrd !== undefined || k.cmdline !== undefined)) throw usage(`${flag} ${JSON.stringify(text)}: initrd= and kernel_args= need kernel=`);
  return {
    ...(boot.length > 0 ? { boot } : {}),
    ...(k.kernel !== undefined ? { kernel: { kernel: k.kernel, ...(k.initrd !== undefined ? { initrd: k.initrd } : {}), ...(k.cmdline !== undefined ? { cmdline: k.cmdline } : {}) } } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Flags (and a file) → body

/** A URL for --location (an install tree); anything else names an ISO in the iso root. */
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

function installFromFlags(flags: VmCreateFlags, kernel: Body | undefined): Body | undefined {
  const sources: Array<[string, Body]> = [];
  if (flags.import) sources.push(['--import', { kind: 'import' }]);
  if (flags.cdrom !== undefined) sources.push(['--cdrom', { kind: 'cdrom', iso: baseName(flags.cdrom, '--cdrom') }]);
  if (flags.location !== undefined) {
    const where = URL_LIKE.test(flags.location.trim()) ? { url: flags.location.trim() } : { iso: baseName(flags.location, '--location') };
    sources.push(['--location', { kind: 'location', ...where, ...(flags.extraArgs !== undefined ? { extraArgs: flags.extraArgs } : {}) }]);
  }
  if (flags.pxe) sources.push(['--pxe', { kind: 'pxe' }]);
  if (kernel) sources.push(['--boot kernel=…', { kind: 'kernel', ...kernel }]);
  if (sources.length > 1) throw usage(`give one install source, not ${sources.map(([f]) => f).join(' and ')}`, `the choices: ${INSTALL_CHOICES}`);
  return sources[0]?.[1];
}

function plainObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The POST /v1/vms body for these flags, over the body of --from-file if given: a flag given wins
 * over the file's field (--disk and --network replace the file's lists; --label adds to its
 * labels). Checked against the create-vm schema; a CliError (exit 2) lists what is wrong.
 * Host names are not resolved here (no API call): --host is the action's business.
 */
export function createVmBody(flags: VmCreateFlags, fileBody?: unknown): CreateVmBody {
  if (fileBody !== undefined && !plainObject(fileBody)) throw usage('--from-file: give the API body, a mapping of its fields', 'docs/vms.md shows it');
  if (flags.virtType !== undefined && flags.virtType !== 'kvm') {
    throw usage(`--virt-type ${flags.virtType}: the host chooses (kvm where its KVM probe worked, qemu otherwise)`, 'leave --virt-type out');
  }
  const body: Body = { ...(fileBody ?? {}) };

  const name = flags.name ?? body.name;
  if (name === undefined) throw usage('give the VM a name: virtfleet vms create NAME … (or --name, or name: in --from-file)');
  body.name = name;

  if (flags.memory !== undefined) {
    const m = parseMemory(flags.memory);
    body.memoryMiB = m.memoryMiB;
    if (m.maxMemoryMiB !== undefined) {
      if (flags.maxMemory !== undefined) throw usage('give the maximum memory once: --max-memory, or --memory memory=MAX,currentMemory=N');
      body.maxMemoryMiB = m.maxMemoryMiB;
    }
  }
  if (flags.maxMemory !== undefined) body.maxMemoryMiB = sizeMiB(flags.maxMemory, '--max-memory', 'M');

  if (flags.vcpus !== undefined) {
    const v = parseVcpus(flags.vcpus);
    body.vcpus = v.vcpus;
    if (v.maxVcpus !== undefined) body.maxVcpus = v.maxVcpus;
    if (v.cpuset !== undefined) {
      if (flags.cpuset !== undefined) throw usage('give the cpuset once: --cpuset, or --vcpus N,cpuset=LIST');
      body.cpuset = v.cpuset;
    }
  }
  if (flags.cpuset !== undefined) body.cpuset = flags.cpuset;

  const boot = flags.boot === undefined ? {} : parseBoot(flags.boot);
  if (boot.boot) body.boot = boot.boot;
  const install = installFromFlags(flags, boot.kernel);
  if (install) body.install = install;
  if (flags.extraArgs !== undefined && flags.location === undefined) {
    // --extra-args alone changes the file's location install.
    if (install || !plainObject(body.install) || body.install.kind !== 'location') {
      throw usage('--extra-args goes with --location (the installer’s kernel command line)', 'a direct kernel boot takes --boot kernel=…,kernel_args=…');
    }
    body.install = { ...body.install, extraArgs: flags.extraArgs };
  }
  if (body.install === undefined) throw usage('give an install source', `the choices: ${INSTALL_CHOICES}`);

  if (flags.disk !== undefined) {
    const disks = flags.disk.map(parseDisk);
    if (disks.includes('none') && disks.length > 1) throw usage('--disk none takes no other --disk');
    body.disks = disks
      .filter((d): d is DiskFlag => d !== 'none')
      .map((d, i) => ({ ...d, name: d.name ?? (i === 0 ? name : `${String(name)}-${i + 1}`) }));
  }
  if (flags.network !== undefined) {
    const nics = flags.network.map(parseNetwork);
    if (nics.includes('none') && nics.length > 1) throw usage('--network none takes no other --network');
    body.networks = nics.filter((n): n is NicFlag => n !== 'none');
  }
  if (flags.graphics !== undefined) body.graphics = parseGraphics(flags.graphics);
  if (flags.osVariant !== undefined && flags.osinfo !== undefined && flags.osVariant !== flags.osinfo) throw usage('give --os-variant (or --osinfo) once');
  const os = flags.osVariant ?? flags.osinfo;
  if (os !== undefined) body.osVariant = os;
  if (flags.serial === false) body.serial = false;
  if (flags.autostart) body.autostart = true;
  if (flags.waitFor !== undefined) body.waitFor = flags.waitFor;
  if (flags.readyMarker !== undefined) body.readyMarker = flags.readyMarker;
  if (flags.readyTimeout !== undefined) body.readyTimeoutSeconds = wholeNumber(flags.readyTimeout, '--ready-timeout', 1);
  if (flags.label !== undefined) body.labels = { ...(plainObject(body.labels) ? body.labels : {}), ...parseLabels(flags.label, '--label', false) };
  if (flags.hostSelector !== undefined) body.hostSelector = parseLabels(flags.hostSelector, '--host-selector');

  return checkCreateVmBody(body);
}

/** What POST /v1/vms takes besides the create-vm payload (apps/api/src/vms/vms.service.ts). */
const placementFields = z
  .object({
    hostId: z.string().min(1).optional(),
    hostSelector: z.record(z.string(), z.string()).optional(),
    expiresInSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400)
      .optional(),
    timeoutSeconds: z.number().int().min(1).optional(),
  })
  .strict();

function issueText(issue: z.core.$ZodIssue): string {
  return `${issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)'}: ${issue.message}`;
}

/** A body checked as the API will check it: the create-vm schema for the payload part; one CliError (exit 2) naming every bad field. */
export function checkCreateVmBody(body: Record<string, unknown>): CreateVmBody {
  const { hostId, hostSelector, expiresInSeconds, timeoutSeconds, ...payload } = body;
  const issues: string[] = [];
  const p = createVmPayload.safeParse(payload);
  if (!p.success) issues.push(...p.error.issues.map(issueText));
  const where = { hostId, hostSelector, expiresInSeconds, timeoutSeconds };
  const w = placementFields.safeParse(Object.fromEntries(Object.entries(where).filter(([, v]) => v !== undefined)));
  if (!w.success) issues.push(...w.error.issues.map(issueText));
  if (issues.length > 0) throw usage(issues.join('; '), 'docs/vms.md describes the fields; virtfleet vms create --help the flags');
  return body as unknown as CreateVmBody;
}

/** --from-file: a YAML or JSON file (JSON is YAML), or stdin for "-". */
export async function readBodyFile(file: string, stdin: AsyncIterable<string | Buffer> = process.stdin): Promise<Record<string, unknown>> {
  const text = await readInput(file, '--from-file', stdin);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw usage(`--from-file ${file}: ${((err as Error).message.split('\n')[0] ?? '').trim()}`);
  }
  if (!plainObject(doc)) throw usage(`--from-file ${file}: give the API body, a mapping of its fields`, 'docs/vms.md shows it');
  return doc;
}

/** The name from the positional or --name (both only if they agree). */
function vmName(positional: string | undefined, flag: string | undefined): string | undefined {
  if (positional !== undefined && flag !== undefined && positional !== flag) throw usage(`two names: ${positional} and --name ${flag}`);
  return positional ?? flag;
}

/** --host (name or id), else the file's hostId (a name works there too). */
async function placed(vf: VirtfleetClient, body: CreateVmBody, host: string | undefined): Promise<CreateVmBody> {
  const hostId = await hostIdOf(vf, host ?? body.hostId);
  return hostId === undefined ? body : { ...body, hostId };
}

function printPlacement(out: Output, decision: PlacementDecision): void {
  if (out.json) return printJson(out, decision);
  out.write(decision.hostId ? `would place it on ${decision.hostName ?? decision.hostId}: ${decision.reason}\n` : `no host fits: ${decision.reason}\n`);
  if (decision.hosts.length === 0) return;
  printTable(out, decision.hosts, [
    ['HOST', (h) => h.name],
    ['FITS', (h) => (h.fits ? 'yes' : 'no')],
    ['FREE MEMORY', (h) => `${h.freeMemoryMiB} MiB`],
    ['FREE VCPUS', (h) => h.freeVcpus],
    ['SCORE', (h) => h.score],
    ['WHY NOT', (h) => h.reasons.join('; ')],
  ]);
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
const ignored = (flags: string, what: string) => new Option(flags, what).hideHelp();

const HELP = `
Memory is MiB unless a unit is given (512M, 2G), as with virt-install. Disks and install media are
names in the host's store and iso roots: a path's directories are dropped (--disk
path=/kvm/store/vm1.qcow2 is disk vm1, qcow2; --cdrom /kvm/iso/x.iso is x.iso). A disk without
name= or path= is named after the VM: the first NAME, the others NAME-2, NAME-3 … (by position).
Give exactly one install source. Flags win over --from-file's fields; --disk and --network
replace its lists, --label adds to its labels.

Examples:
  # the operation guide's line, virt-install --virt-type=kvm --name=CentOS7.9 --os-type=linux
  #   --vcpus=1 --memory=1024 --location=/kvm/iso/CentOS-7-x86_64-Minimal-2009.iso
  #   --disk=/kvm/store/CentOS-7.9.qcow2,size=20,format=qcow2 --network bridge=br0,model=virtio
  #   --accelerate --autostart --extra-args='console=ttyS0'
  # (pasted as it is it works too: --virt-type=kvm, --os-type and --accelerate are ignored):
  virtfleet vms create CentOS7.9 --vcpus 1 --memory 1024 --location CentOS-7-x86_64-Minimal-2009.iso \\
    --disk name=CentOS-7.9,size=20,format=qcow2 --network bridge=br0,model=virtio --autostart \\
    --extra-args 'console=ttyS0' --wait
  virtfleet vms create web-1 --memory 2G --vcpus 2 --import --disk name=web-1-root --network network=nat --os-variant debian11
  virtfleet vms create db-1 --memory 4G --max-memory 8G --vcpus 2,maxvcpus=4,cpuset=0-3 \\
    --cdrom CentOS-7-x86_64-Minimal-2009.iso --disk size=20 --disk size=50,bus=scsi --network bridge=br1 --graphics vnc
  virtfleet vms create pxe-1 --memory 2048 --vcpus 2 --pxe --disk size=20 --network network=nat,mac=52:54:00:12:34:56
  virtfleet vms create tiny1 --memory 256M --vcpus 1 --boot kernel=vmlinux,initrd=initramfs.gz,kernel_args="console=ttyS0 quiet" \\
    --disk name=tiny1-data,size=1 --wait-for guest-ready --ready-marker TINYGUEST-READY --wait
  virtfleet vms create web-2 --memory 2G --vcpus 2 --import --disk name=web-2-root --host-selector zone=a --dry-run
  virtfleet vms create --from-file web.yaml --name web-3 --label team=web --host kvm01
  virtfleet vms create --from-file - < db-1.json`;

/** `virtfleet vms create [name]`: create-vm from virt-install-like flags and/or a body file. */
export function registerVmCreate(vms: Command, ctx: Ctx): void {
  waitable(
    vms
      .command('create [name]')
      .description('Create a VM with virt-install on a host (job create-vm): flags as virt-install takes them, or --from-file')
      .option('--name <name>', 'the VM’s name (or give it as the argument)')
      .option('--memory <size>', 'memory: MiB (1024), or 512M, 2G; memory=MAX,currentMemory=N for a maximum too')
      .option('--max-memory <size>', 'the boot-time maximum (MiB, or 4G), at least --memory')
      .option('--vcpus <n>', 'vCPUs: N, or N,maxvcpus=M,cpuset=0-3')
      .option('--cpuset <list>', 'host CPUs the vCPUs may run on: 0-3,6 or 1,^2')
      .option('--disk <spec>', 'a disk, repeatable: size=20[,format=qcow2|raw][,bus=virtio|sata|scsi|ide|usb], name=NAME (existing), path=/dir/NAME.qcow2, or none', collect)
      .option('--network <spec>', 'a NIC, repeatable: network=NAME or bridge=NAME [,model=virtio|e1000|e1000e|rtl8139][,mac=52:54:00:…], default, or none', collect)
      .option('--import', 'install source: boot the first disk as it is')
      .option('--cdrom <iso>', 'install source: an ISO in the host’s iso root')
      .option('--location <iso|url>', 'install source: an install tree, an ISO in the iso root or an http(s)/ftp/nfs URL')
      .option('--extra-args <args>', 'with --location: the installer’s kernel command line (console=ttyS0 ks=…)')
      .option('--pxe', 'install source: boot from the network (needs a --network)')
      .option('--boot <spec>', 'boot order (hd,cdrom,network) and/or install source kernel=K[,initrd=I][,kernel_args=ARGS] (files in the iso root)')
      .option('--graphics <spec>', 'none (the default) or vnc[,listen=ADDR][,port=N][,password=P]')
      .option('--os-variant <id>', 'an osinfo short id (centos7.0, debian11); unknown to the host → generic')
      .option('--no-serial', 'no serial console log file on the host')
      .option('--autostart', 'start the VM when its host boots')
      .addOption(new Option('--wait-for <when>', 'the job ends when the VM runs, or when the guest shows life').choices(['running', 'guest-ready']))
      .option('--ready-marker <text>', 'with --wait-for guest-ready: text on the serial console (default login:)')
      .option('--ready-timeout <seconds>', 'with --wait-for guest-ready: how long to wait (default 300)')
      .option('--label <key=value>', 'a label kept by the API, repeatable', collect)
      .option('--host <host>', 'this host (name or id); without it the API places the VM')
      .option('--host-selector <k=v,…>', 'place it only on hosts with these labels')
      .option('--dry-run', 'print where the API would place it, and why; create nothing')
      .option('--from-file <file>', 'the API body (docs/vms.md) as YAML or JSON; - reads stdin')
      .addOption(ignored('--osinfo <id>', 'virt-install 4’s name for --os-variant'))
      .addOption(ignored('--virt-type <type>', 'accepted for virt-install’s sake: the host chooses'))
      .addOption(ignored('--os-type <type>', 'accepted for virt-install’s sake: ignored'))
      .addOption(ignored('--accelerate', 'accepted for virt-install’s sake: ignored'))
      .addOption(ignored('--noautoconsole', 'accepted for virt-install’s sake: never a console'))
      .addHelpText('after', HELP),
  ).action(async (positional: string | undefined, o: VmCreateFlags) => {
    const name = vmName(positional, o.name);
    const file = o.fromFile === undefined ? undefined : await readBodyFile(o.fromFile);
    const body = createVmBody({ ...o, ...(name !== undefined ? { name } : {}) }, file);
    if (o.dryRun) {
      const decision = await ctx.call(async (vf) => vf.vms.place(await placed(vf, body, o.host)));
      printPlacement(ctx.out(), decision);
      return;
    }
    await ctx.submit(o, async (vf) => vf.vms.create(await placed(vf, body, o.host)));
  });
}
