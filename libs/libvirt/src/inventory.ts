import { randomBytes } from 'node:crypto';
import {
  POWER_STATES_BY_NUMBER,
  type DomainInventory,
  type DomainSnapshot,
  type NetworkInventory,
  type PoolInventory,
  type PowerState,
} from '@virtfleet/contracts';
import { CommandFailedError, type Command, type CommandResult } from '@virtfleet/exec';
import { childElement, childElements, childText, parseDomainXml, parseXml, scaledToBytes, type DomainXmlFacts } from './domain-xml';
import { virsh } from './virsh';
import { SNAPSHOT_TIMEOUT_MS, snapshotCreateAsArgs, snapshotNamedArgs } from './virsh-snapshot';

/** How the caller runs a process (a CommandRunner's run, a fake in tests). */
export type RunCommand = (command: Command) => Promise<CommandResult>;

export interface HostInventory {
  domains: DomainInventory[];
  networks: NetworkInventory[];
  pools: PoolInventory[];
}

// ---------------------------------------------------------------------------------------------
// Batches: many virsh commands in one process and one connection.
//
// Measured with virsh 9.0 (qemu:///system and the test driver):
// - `virsh -q -c URI "a ; b ; c"` runs every command even when one fails; the failure only
//   prints `error: …` to stderr, and the exit code is the LAST command's.
// - Under -q, `echo X` prints X with no newline, so a marker is glued to the next output; the
//   markers carry a random nonce so that no domain XML or snapshot name can forge one.
// - One argv string is capped at 128 KiB by Linux (MAX_ARG_STRLEN, E2BIG past it), so a batch
//   holds about 800 domains; larger hosts get a few batches, run in parallel.
// - Commands read from stdin instead (no argv limit) are echoed back with a `virsh # ` prompt
//   interleaved with the output, so stdin is not used.
// ---------------------------------------------------------------------------------------------

/** One command of a batch; `kind` and `id` name its output. */
export interface BatchStep {
  readonly kind: string;
  /** A UUID, an index or empty: something virsh's own command parser reads as one plain word. */
  readonly id: string;
  /** Built from fixed words, UUIDs and quoteVirshArg() only: never a raw name. */
  readonly command: string;
}

export interface BatchOutput {
  /** Each step's stdout by `kind:id`, exactly as virsh printed it. */
  readonly sections: Map<string, string>;
  /** Whether the batch ran to its end marker. */
  readonly complete: boolean;
}

export const MAX_BATCH_BYTES = 100_000;
export const INVENTORY_TIMEOUT_MS = 120_000;

const SAFE_WORD = /^[A-Za-z0-9._-]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const END = 'end';

export function newBatchNonce(): string {
  return randomBytes(8).toString('hex');
}

function marker(nonce: string, kind: string, id: string): string {
  return `==vf-${nonce}:${kind}:${id}==`;
}

/**
 * Quotes one argument for virsh's own command parser (the one that splits `a ; b`): inside
 * single quotes nothing is special, not even `;`, `#` or a newline; a `'` is closed, escaped and
 * reopened, as in sh. Verified by an echo round trip through real virsh (inventory.spec.ts).
 */
export function quoteVirshArg(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function checkStep(step: BatchStep, nonce: string): void {
  if (!/^[0-9a-f]+$/.test(nonce)) throw new Error(`batch nonce must be hex: ${nonce}`);
  if (!step.kind || step.kind === END || !SAFE_WORD.test(step.kind) || !SAFE_WORD.test(step.id)) {
    throw new Error(`unsafe batch marker ${step.kind}:${step.id}`);
  }
}

function stepPiece(step: BatchStep, nonce: string): string {
  return `echo ${marker(nonce, step.kind, step.id)} ; ${step.command}`;
}

/** How many of `extra` still fit after `steps` in one virsh process (virshBatchCommands splits past MAX_BATCH_BYTES). */
function stepsThatFit(steps: readonly BatchStep[], extra: readonly BatchStep[], nonce: string): number {
  let room = MAX_BATCH_BYTES - Buffer.byteLength(`echo ${marker(nonce, END, '')}`);
  for (const step of steps) room -= Buffer.byteLength(stepPiece(step, nonce)) + 3;
  let n = 0;
  for (const step of extra) {
    room -= Buffer.byteLength(stepPiece(step, nonce)) + 3;
    if (room < 0) break;
    n++;
  }
  return n;
}

/** The virsh processes that run `steps` in order: one, or a few for very large hosts. */
export function virshBatchCommands(uri: string, steps: readonly BatchStep[], nonce: string): Command[] {
  const end = `echo ${marker(nonce, END, '')}`;
  const scripts: string[][] = [[]];
  let size = Buffer.byteLength(end);
  for (const step of steps) {
    checkStep(step, nonce);
    const piece = stepPiece(step, nonce);
    const bytes = Buffer.byteLength(piece) + 3;
    const current = scripts[scripts.length - 1] ?? [];
    if (current.length > 0 && size + bytes > MAX_BATCH_BYTES) {
      scripts.push([piece]);
      size = Buffer.byteLength(end) + bytes;
    } else {
      current.push(piece);
      size += bytes;
    }
  }
  return scripts.map((pieces) => ({ ...virsh(uri, [...pieces, end].join(' ; ')), timeoutMs: INVENTORY_TIMEOUT_MS }));
}

export function parseBatchOutput(stdout: string, nonce: string): BatchOutput {
  const re = new RegExp(`==vf-${nonce}:([A-Za-z0-9._-]+):([A-Za-z0-9._-]*)==\\n?`, 'g');
  const sections = new Map<string, string>();
  let complete = false;
  let open: string | undefined;
  let from = 0;
  for (const m of stdout.matchAll(re)) {
    if (open !== undefined) sections.set(open, stdout.slice(from, m.index));
    open = m[1] === END ? undefined : `${m[1]}:${m[2]}`;
    complete ||= m[1] === END;
    from = m.index + m[0].length;
  }
  if (open !== undefined) sections.set(open, stdout.slice(from));
  return { sections, complete };
}

export interface VirshErrors {
  /** Names/UUIDs from `error: failed to get domain|network|pool 'X'`: the object does not exist. */
  readonly gone: Set<string>;
  /** `error:` lines that do not say "gone": the batch cannot be trusted. */
  readonly unexplained: string[];
}

const GONE = /^error: failed to get (?:domain|network|pool) '(.*)'$/;
// Second lines of a "gone" error, the benign answers of snapshot commands, and leases a driver
// cannot tell (the test driver: "this function is not supported …: virNetworkGetDHCPLeases").
const BENIGN = [
  /^error: (?:Domain|Network|Storage pool) not found\b/,
  /^error: Domain snapshot not found\b/,
  /^error: domain '.*' has no current snapshot$/,
  /^error: Failed to get leases info for /,
  /^error: this function is not supported by the connection driver: virNetworkGetDHCPLeases$/,
];

/** Sorts virsh's `error:` lines; libvirt's own log lines (info/warning) are ignored. `benign`: more lines that mean no harm. */
export function classifyVirshErrors(stderr: string, benign: readonly RegExp[] = []): VirshErrors {
  const gone = new Set<string>();
  const unexplained: string[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('error: ')) continue;
    const m = GONE.exec(line);
    if (m?.[1] !== undefined) gone.add(m[1]);
    else if (!BENIGN.some((re) => re.test(line)) && !benign.some((re) => re.test(line))) unexplained.push(line);
  }
  return { gone, unexplained };
}

/** Thrown when virsh's output cannot be trusted; carries argv, exit code and the stderr tail. */
export class VirshInventoryError extends CommandFailedError {
  constructor(result: CommandResult, why: string) {
    super(result);
    this.name = 'VirshInventoryError';
    this.message = `${why} (${this.message})`;
  }
}

export interface BatchRun {
  readonly sections: Map<string, string>;
  readonly gone: Set<string>;
  /** The first result, to blame when a section is missing without a reason. */
  readonly blame: CommandResult;
  /** Every process's stderr, in order (where an action's answer is read, see DomainAction). */
  readonly stderr: string;
}

/** Runs the steps and fails unless every batch ran to its end with only "gone" (or `benign`) errors. */
export async function runVirshBatch(run: RunCommand, uri: string, steps: readonly BatchStep[], nonce = newBatchNonce(), benign: readonly RegExp[] = []): Promise<BatchRun> {
  const results = await Promise.all(virshBatchCommands(uri, steps, nonce).map((cmd) => run(cmd)));
  const sections = new Map<string, string>();
  const gone = new Set<string>();
  for (const result of results) {
    const out = parseBatchOutput(result.stdout, nonce);
    if (!out.complete || result.timedOut || result.aborted || result.spawnError) {
      throw new VirshInventoryError(result, 'virsh batch did not run to its end');
    }
    const errors = classifyVirshErrors(result.stderr, benign);
    if (errors.unexplained.length > 0) throw new VirshInventoryError(result, `virsh batch failed: ${errors.unexplained[0]}`);
    out.sections.forEach((text, key) => sections.set(key, text));
    errors.gone.forEach((id) => gone.add(id));
  }
  const blame = results[0];
  if (!blame) throw new Error('no virsh batch was run');
  return { sections, gone, blame, stderr: results.map((r) => r.stderr).join('') };
}

// ---------------------------------------------------------------------------------------------
// Parsers of single virsh outputs
// ---------------------------------------------------------------------------------------------

/** `list --uuid`, `net-list --uuid`, `snapshot-list --name` …: one item a line, blank lines dropped. */
export function parseLines(stdout: string | undefined): string[] {
  return (stdout ?? '').split('\n').filter((line) => line.trim() !== '');
}

// virsh's own words for a state's reason (tools/virsh-domain-monitor.c), by state.state and
// state.reason number, so that domstats reads like `virsh domstate --reason`.
const REASONS: Readonly<Record<PowerState, readonly string[]>> = {
  nostate: ['unknown'],
  running: ['unknown', 'booted', 'migrated', 'restored', 'from snapshot', 'unpaused', 'migration canceled', 'save canceled', 'event wakeup', 'crashed', 'post-copy', 'post-copy failed'],
  blocked: ['unknown'],
  paused: ['unknown', 'user', 'migrating', 'saving', 'dumping', 'I/O error', 'watchdog', 'from snapshot', 'shutting down', 'creating snapshot', 'crashed', 'starting up', 'post-copy', 'post-copy failed', 'api error'],
  shutdown: ['unknown', 'user'],
  shutoff: ['unknown', 'shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'from snapshot', 'daemon'],
  crashed: ['unknown', 'panicked'],
  pmsuspended: ['unknown'],
};

export interface DomainRunState {
  readonly state: PowerState;
  readonly reason?: string;
}

export function stateFromNumbers(state: number, reason: number | undefined): DomainRunState {
  const power = POWER_STATES_BY_NUMBER[state] ?? 'nostate';
  const word = reason === undefined ? undefined : (REASONS[power][reason] ?? 'unknown');
  return word === undefined ? { state: power } : { state: power, reason: word };
}

/**
 * `virsh domstats --state` → state by domain name:
 *   Domain: 'tiny1'
 *     state.state=5
 *     state.reason=2
 * A name may hold quotes; it runs to the line's last quote (libvirt refuses newlines in names).
 */
export function parseDomStats(stdout: string): Map<string, DomainRunState> {
  const numbers = new Map<string, { state?: number; reason?: number }>();
  let current: { state?: number; reason?: number } | undefined;
  for (const line of stdout.split('\n')) {
    const head = /^Domain: '(.*)'$/.exec(line);
    if (head?.[1] !== undefined) {
      current = {};
      numbers.set(head[1], current);
      continue;
    }
    const kv = /^\s+state\.(state|reason)=(\d+)$/.exec(line);
    if (current && kv?.[1] && kv[2]) current[kv[1] === 'state' ? 'state' : 'reason'] = Number(kv[2]);
  }
  const out = new Map<string, DomainRunState>();
  numbers.forEach((n, name) => {
    if (n.state !== undefined) out.set(name, stateFromNumbers(n.state, n.reason));
  });
  return out;
}

export type NetworkXmlFacts = Pick<NetworkInventory, 'name' | 'uuid' | 'bridge' | 'forward' | 'virtualport' | 'cidr' | 'xml'>;

/** `virsh net-dumpxml`. No `<forward>` is an isolated network; `<forward/>` without a mode is NAT. */
export function parseNetworkXml(xml: string): NetworkXmlFacts {
  const net = parseXml(xml);
  const name = childText(net, 'name');
  if (net.name !== 'network' || !name) throw new Error('expected a <network> document with a name');
  const uuid = childText(net, 'uuid');
  const bridge = childElement(net, 'bridge')?.attrs['name'];
  const forward = childElement(net, 'forward');
  const virtualport = childElement(net, 'virtualport')?.attrs['type'];
  const ip = childElements(net, 'ip').find((e) => (e.attrs['family'] ?? 'ipv4') === 'ipv4');
  const prefix = ip ? (ip.attrs['prefix'] ?? prefixOf(ip.attrs['netmask'])) : undefined;
  return {
    name,
    ...(uuid ? { uuid } : {}),
    ...(bridge ? { bridge } : {}),
    forward: forward ? (forward.attrs['mode'] ?? 'nat') : 'isolated',
    ...(virtualport ? { virtualport } : {}),
    ...(ip?.attrs['address'] && prefix !== undefined ? { cidr: `${ip.attrs['address']}/${prefix}` } : {}),
    xml,
  };
}

/** 255.255.255.0 → 24; undefined for a mask that is not one. */
function prefixOf(netmask: string | undefined): number | undefined {
  if (!netmask) return undefined;
  const bits = netmask.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits) && bits.length === 32 ? bits.indexOf('0') === -1 ? 32 : bits.indexOf('0') : undefined;
}

export type PoolXmlFacts = Pick<PoolInventory, 'name' | 'path' | 'capacityBytes' | 'availableBytes'>;

/** `virsh pool-dumpxml`: sizes are scaled integers in bytes unless a unit says otherwise. */
export function parsePoolXml(xml: string): PoolXmlFacts {
  const pool = parseXml(xml);
  const name = childText(pool, 'name');
  if (pool.name !== 'pool' || !name) throw new Error('expected a <pool> document with a name');
  const path = childText(childElement(pool, 'target'), 'path');
  const bytes = (tag: string) => {
    const el = childElement(pool, tag);
    return el ? scaledToBytes(el.text, el.attrs['unit'], 'bytes') : undefined;
  };
  const capacityBytes = bytes('capacity');
  const availableBytes = bytes('available');
  return {
    name,
    ...(path ? { path } : {}),
    ...(capacityBytes !== undefined ? { capacityBytes } : {}),
    ...(availableBytes !== undefined ? { availableBytes } : {}),
  };
}

/** `virsh snapshot-dumpxml` (creationTime is epoch seconds). `current` comes from snapshot-current. */
export function parseSnapshotXml(xml: string): Omit<DomainSnapshot, 'current'> {
  const snap = parseXml(xml);
  const name = childText(snap, 'name');
  if (snap.name !== 'domainsnapshot' || !name) throw new Error('expected a <domainsnapshot> document with a name');
  const created = childText(snap, 'creationTime');
  const state = childText(snap, 'state');
  const parent = childText(childElement(snap, 'parent'), 'name');
  const description = childText(snap, 'description');
  return {
    name,
    ...(created && /^\d+$/.test(created) ? { createdAt: new Date(Number(created) * 1000).toISOString() } : {}),
    ...(state ? { state } : {}),
    ...(parent ? { parent } : {}),
    ...(description ? { description } : {}),
  };
}

export interface DhcpLease {
  /** Lower case, as in the domain XML. */
  mac: string;
  /** Without the prefix length. */
  ip: string;
  prefix?: number;
  protocol: 'ipv4' | 'ipv6';
  /** `2030-01-26 05:09:20`, the host's local time as virsh prints it. */
  expiry: string;
  hostname?: string;
  clientId?: string;
}

const LEASE_LINE = /^\s*(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s+([0-9A-Fa-f:]+)\s+(ipv4|ipv6)\s+([^\s/]+)(?:\/(\d+))?\s+(\S+)\s+(\S+)\s*$/;

/**
 * `virsh -q net-dhcp-leases NET`. Columns as virsh 9.0 printed them from libvirt's lease status
 * file, `-` for an empty hostname or client ID (header lines without -q are skipped):
 *   2030-01-26 05:09:20   52:54:00:74:06:89   ipv4   10.213.9.130/24   -       -
 *   2030-01-26 05:09:20   52:54:00:74:06:89   ipv6   fd00:9::150/64    -       00:04:aa:bb
 */
export function parseDhcpLeases(stdout: string): DhcpLease[] {
  const leases: DhcpLease[] = [];
  for (const line of stdout.split('\n')) {
    const m = LEASE_LINE.exec(line);
    if (!m) continue;
    const [, expiry = '', mac = '', protocol, ip = '', prefix, hostname, clientId] = m;
    leases.push({
      mac: mac.toLowerCase(),
      ip,
      ...(prefix ? { prefix: Number(prefix) } : {}),
      protocol: protocol === 'ipv6' ? 'ipv6' : 'ipv4',
      expiry,
      ...(hostname && hostname !== '-' ? { hostname } : {}),
      ...(clientId && clientId !== '-' ? { clientId } : {}),
    });
  }
  return leases;
}

/** Leases → IP addresses by MAC, in lease order, without duplicates. */
export function addressesByMac(leases: ReadonlyArray<Pick<DhcpLease, 'mac' | 'ip'>>): Map<string, string[]> {
  const byMac = new Map<string, string[]>();
  for (const { mac, ip } of leases) {
    const ips = byMac.get(mac) ?? [];
    if (!ips.includes(ip)) ips.push(ip);
    byMac.set(mac, ips);
  }
  return byMac;
}

export function netDhcpLeases(uri: string, network: string): Command {
  return virsh(uri, 'net-dhcp-leases', '--network', network);
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/**
 * All domain events of all domains, one line each (lifecycle included: `--all` registers every
 * domain event type; checked on qemu:///system). `virsh event` never reports network events:
 * run virshNetworkEventLoop() as a second process for those.
 */
export function virshEventLoop(uri: string): Command {
  return virsh(uri, 'event', '--all', '--loop', '--timestamp');
}

/** Network lifecycle events (Defined, Undefined, Started, Stopped). net-event has no --all. */
export function virshNetworkEventLoop(uri: string): Command {
  return virsh(uri, 'net-event', '--event', 'lifecycle', '--loop', '--timestamp');
}

export interface VirshEvent {
  /** ISO time from --timestamp. */
  at?: string;
  /** lifecycle, reboot, device-added, agent-lifecycle … */
  event: string;
  domain?: string;
  network?: string;
  /** The rest: `Stopped Destroyed`, `virtio-disk1`, `state: 'connected' reason: 'channel event'`, `disk hdc: opened`. */
  detail?: string;
}

const EVENT_LINE = /^(?:(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2})(\d{2}): )?event '([^']+)' for (domain|network) (.*)$/;
// Printed by virsh with no detail at all (virshEventGenericPrint).
const NO_DETAIL = new Set(['reboot', 'control-error', 'pm-wakeup', 'pm-suspend', 'pm-suspend-disk']);
// Printed as `for domain 'NAME' disk ALIAS: …`.
const DISK_FORM = new Set(['tray-change', 'disk-change']);

/**
 * One line of virshEventLoop()/virshNetworkEventLoop() output, or null for anything else
 * (`events received: 1`, and the tab-indented lines that follow job-completed/tunable).
 * Domain names may hold quotes and colons; the name is taken to end at the last `': ` (no
 * detail virsh prints for lifecycle/agent/device events contains one), so only a free-form
 * detail (an io-error path) holding `': ` could be split wrongly.
 */
export function parseVirshEventLine(line: string): VirshEvent | null {
  const m = EVENT_LINE.exec(line.replace(/\r?\n$/, ''));
  if (!m) return null;
  const [, date, time, offH, offM, event = '', kind, rest = ''] = m;
  const at = date && time ? isoTime(date, time, `${offH}:${offM}`) : undefined;
  const subject = kind === 'network' ? splitNetwork(rest) : splitDomain(event, rest);
  if (!subject) return null;
  const out: VirshEvent = { event };
  if (at) out.at = at;
  if (kind === 'network') out.network = subject.name;
  else out.domain = subject.name;
  if (subject.detail) out.detail = subject.detail;
  return out;
}

function isoTime(date: string, time: string, offset: string): string | undefined {
  const ms = Date.parse(`${date}T${time}${offset}`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

interface Subject {
  name: string;
  detail?: string;
}

function splitDomain(event: string, rest: string): Subject | null {
  if (!rest.startsWith("'")) return null;
  const body = rest.slice(1);
  if (NO_DETAIL.has(event) && body.endsWith("'")) return { name: body.slice(0, -1) };
  if (body.endsWith("':")) return { name: body.slice(0, -2) }; // multi-line events: details follow on tab lines
  if (DISK_FORM.has(event)) {
    const at = body.lastIndexOf("' disk ");
    if (at >= 0) return { name: body.slice(0, at), detail: body.slice(at + 2) };
  }
  const at = body.lastIndexOf("': ");
  if (at >= 0) return { name: body.slice(0, at), detail: body.slice(at + 3) };
  return body.endsWith("'") ? { name: body.slice(0, -1) } : null;
}

// virsh 9.0 prints network names unquoted: `event 'lifecycle' for network vfh-a-br: Started`.
function splitNetwork(rest: string): Subject | null {
  const quoted = /^'(.*)'(?:: (.*))?$/.exec(rest);
  if (quoted?.[1] !== undefined) return quoted[2] ? { name: quoted[1], detail: quoted[2] } : { name: quoted[1] };
  const at = rest.lastIndexOf(': ');
  if (at > 0) return { name: rest.slice(0, at), detail: rest.slice(at + 2) };
  return rest ? { name: rest } : null;
}

// ---------------------------------------------------------------------------------------------
// Full host inventory
// ---------------------------------------------------------------------------------------------

const LIST_STEPS: readonly (readonly [string, string])[] = [
  ['dom-all', 'list --all --uuid'],
  ['dom-autostart', 'list --all --autostart --uuid'],
  ['dom-persistent', 'list --all --persistent --uuid'],
  ['dom-snapshots', 'list --all --with-snapshot --uuid'],
  ['dom-state', 'domstats --state'],
  ['net-all', 'net-list --all --uuid'],
  ['net-active', 'net-list --uuid'],
  ['net-autostart', 'net-list --all --autostart --uuid'],
  ['net-persistent', 'net-list --all --persistent --uuid'],
  ['pool-all', 'pool-list --all --uuid'],
  ['pool-active', 'pool-list --uuid'],
  ['pool-autostart', 'pool-list --all --autostart --uuid'],
  ['pool-persistent', 'pool-list --all --persistent --uuid'],
];

/** Step 1: every list the inventory needs, in one virsh process. */
export function inventoryListSteps(): BatchStep[] {
  return LIST_STEPS.map(([kind, command]) => ({ kind, id: '', command }));
}

export interface InventoryLists {
  readonly domains: readonly string[];
  readonly domainAutostart: ReadonlySet<string>;
  readonly domainPersistent: ReadonlySet<string>;
  readonly domainsWithSnapshots: readonly string[];
  readonly states: ReadonlyMap<string, DomainRunState>;
  readonly networks: readonly string[];
  readonly networkActive: ReadonlySet<string>;
  readonly networkAutostart: ReadonlySet<string>;
  readonly networkPersistent: ReadonlySet<string>;
  readonly pools: readonly string[];
  readonly poolActive: ReadonlySet<string>;
  readonly poolAutostart: ReadonlySet<string>;
  readonly poolPersistent: ReadonlySet<string>;
}

export function parseInventoryLists(sections: ReadonlyMap<string, string>): InventoryLists {
  const list = (kind: string) => parseLines(sections.get(`${kind}:`)).map((l) => l.trim()).filter((l) => UUID.test(l));
  const set = (kind: string) => new Set(list(kind));
  return {
    domains: list('dom-all'),
    domainAutostart: set('dom-autostart'),
    domainPersistent: set('dom-persistent'),
    domainsWithSnapshots: list('dom-snapshots'),
    states: parseDomStats(sections.get('dom-state:') ?? ''),
    networks: list('net-all'),
    networkActive: set('net-active'),
    networkAutostart: set('net-autostart'),
    networkPersistent: set('net-persistent'),
    pools: list('pool-all'),
    poolActive: set('pool-active'),
    poolAutostart: set('pool-autostart'),
    poolPersistent: set('pool-persistent'),
  };
}

/** Step 2: the XML of every object, the snapshot names, and the DHCP leases of active networks. */
export function inventoryDetailSteps(lists: InventoryLists): BatchStep[] {
  const steps: BatchStep[] = lists.domains.map((id) => ({ kind: 'x', id, command: `dumpxml ${id}` }));
  for (const id of lists.domainsWithSnapshots) steps.push(...snapshotListSteps(id));
  for (const id of lists.networks) {
    steps.push({ kind: 'n', id, command: `net-dumpxml ${id}` });
    if (lists.networkActive.has(id)) steps.push({ kind: 'l', id, command: `net-dhcp-leases ${id}` });
  }
  for (const id of lists.pools) steps.push({ kind: 'p', id, command: `pool-dumpxml ${id}` });
  return steps;
}

function snapshotListSteps(uuid: string): BatchStep[] {
  return [
    { kind: 'sn', id: uuid, command: `snapshot-list ${uuid} --name` },
    { kind: 'sc', id: uuid, command: `snapshot-current ${uuid} --name` },
  ];
}

/** Snapshot names per domain UUID, and the current one, from the `sn`/`sc` sections. */
export interface SnapshotNames {
  readonly names: string[];
  readonly current?: string;
}

export function readSnapshotNames(sections: ReadonlyMap<string, string>, uuid: string): SnapshotNames {
  const current = sections.get(`sc:${uuid}`)?.replace(/\n$/, '');
  return { names: parseLines(sections.get(`sn:${uuid}`)), ...(current ? { current } : {}) };
}

/** Step 3 (only when some domain has snapshots): each snapshot's XML. Names are quoted, never bare. */
export function snapshotXmlSteps(byDomain: ReadonlyMap<string, SnapshotNames>): BatchStep[] {
  const steps: BatchStep[] = [];
  byDomain.forEach(({ names }, uuid) => {
    names.forEach((name, i) => {
      steps.push({ kind: 's', id: `${uuid}.${i}`, command: `snapshot-dumpxml --domain ${uuid} --snapshotname ${quoteVirshArg(name)}` });
    });
  });
  return steps;
}

async function collectSnapshots(run: RunCommand, uri: string, byDomain: ReadonlyMap<string, SnapshotNames>): Promise<Map<string, DomainSnapshot[]>> {
  const out = new Map<string, DomainSnapshot[]>();
  const steps = snapshotXmlSteps(byDomain);
  if (steps.length === 0) return out;
  const batch = await runVirshBatch(run, uri, steps);
  byDomain.forEach(({ names, current }, uuid) => {
    const snaps: DomainSnapshot[] = [];
    names.forEach((_, i) => {
      const xml = batch.sections.get(`s:${uuid}.${i}`)?.trim();
      // Empty: deleted since it was listed (virsh said "Domain snapshot not found").
      if (xml) snaps.push({ ...parseSnapshotXml(xml), current: false });
    });
    out.set(uuid, snaps.map((s) => ({ ...s, current: s.name === current })));
  });
  return out;
}

const ACTIVE_STATES: ReadonlySet<PowerState> = new Set(['running', 'blocked', 'paused', 'pmsuspended']);

interface DomainExtras {
  readonly run?: DomainRunState;
  readonly persistent: boolean;
  readonly autostart: boolean;
  readonly snapshots: DomainSnapshot[];
  /** Leases by network name, then by MAC. */
  readonly leases: ReadonlyMap<string, ReadonlyMap<string, string[]>>;
}

export function assembleDomain(facts: DomainXmlFacts, extras: DomainExtras): DomainInventory {
  const state = extras.run?.state ?? 'nostate';
  // A lease outlives a domain that was shut off (until it expires): only a live domain has one.
  const live = ACTIVE_STATES.has(state);
  const interfaces = facts.interfaces.map((iface) => {
    const ips = live && iface.network && iface.mac ? extras.leases.get(iface.network)?.get(iface.mac.toLowerCase()) : undefined;
    return ips && ips.length > 0 ? { ...iface, addresses: ips } : iface;
  });
  return {
    ...facts,
    state,
    ...(extras.run?.reason ? { reason: extras.run.reason } : {}),
    persistent: extras.persistent,
    autostart: extras.autostart,
    interfaces,
    snapshots: extras.snapshots,
  };
}

/** A section that is empty must be explained by a "failed to get …" error, or nothing is trusted. */
function requiredSection(batch: BatchRun, key: string, id: string): string | undefined {
  const text = batch.sections.get(key);
  if (text?.trim()) return text;
  if (batch.gone.has(id)) return undefined;
  throw new VirshInventoryError(batch.blame, `virsh printed nothing for ${key} and did not say it is gone`);
}

function leasesByNetwork(networks: readonly NetworkInventory[]): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const net of networks) if (net.leases?.length) out.set(net.name, addressesByMac(net.leases));
  return out;
}

function assembleNetworks(batch: BatchRun, lists: InventoryLists): NetworkInventory[] {
  const out: NetworkInventory[] = [];
  for (const id of lists.networks) {
    const xml = requiredSection(batch, `n:${id}`, id);
    if (!xml) continue;
    const leases = batch.sections.get(`l:${id}`);
    out.push({
      ...parseNetworkXml(xml),
      active: lists.networkActive.has(id),
      autostart: lists.networkAutostart.has(id),
      persistent: lists.networkPersistent.has(id),
      ...(leases ? { leases: parseDhcpLeases(leases).map(({ mac, ip, hostname, expiry }) => ({ mac, ip, expiry, ...(hostname ? { hostname } : {}) })) } : {}),
    });
  }
  return out;
}

function assemblePools(batch: BatchRun, lists: InventoryLists): PoolInventory[] {
  const out: PoolInventory[] = [];
  for (const id of lists.pools) {
    const xml = requiredSection(batch, `p:${id}`, id);
    if (!xml) continue;
    out.push({
      ...parsePoolXml(xml),
      active: lists.poolActive.has(id),
      autostart: lists.poolAutostart.has(id),
      persistent: lists.poolPersistent.has(id),
    });
  }
  return out;
}

/**
 * Everything libvirt knows on the host, in 2 virsh processes (3 when some domain has
 * snapshots; a few more past ~800 domains, see MAX_BATCH_BYTES), whatever the domain count.
 * A domain, network or pool that disappears while this runs is simply absent; any other virsh
 * error throws a VirshInventoryError, because a full report's absent domains count as gone.
 */
export async function collectInventory(run: RunCommand, uri: string): Promise<HostInventory> {
  const listBatch = await runVirshBatch(run, uri, inventoryListSteps());
  const lists = parseInventoryLists(listBatch.sections);
  const batch = await runVirshBatch(run, uri, inventoryDetailSteps(lists));
  const names = new Map<string, SnapshotNames>();
  for (const id of lists.domainsWithSnapshots) names.set(id, readSnapshotNames(batch.sections, id));
  const snapshots = await collectSnapshots(run, uri, names);
  const networks = assembleNetworks(batch, lists);
  const leases = leasesByNetwork(networks);
  const domains: DomainInventory[] = [];
  for (const id of lists.domains) {
    const xml = requiredSection(batch, `x:${id}`, id);
    if (!xml) continue;
    const facts = parseDomainXml(xml);
    domains.push(
      assembleDomain(facts, {
        run: lists.states.get(facts.name),
        persistent: lists.domainPersistent.has(id),
        autostart: lists.domainAutostart.has(id),
        snapshots: snapshots.get(id) ?? [],
        leases,
      }),
    );
  }
  return { domains, networks, pools: assemblePools(batch, lists) };
}

// ---------------------------------------------------------------------------------------------
// One domain
// ---------------------------------------------------------------------------------------------

/** Whether virsh's stderr says the domain does not exist. */
export function isDomainNotFound(stderr: string): boolean {
  return /failed to get domain|Domain not found/.test(stderr);
}

/** `virsh domuuid --domain NAME` in argv form: a name never goes through virsh's batch parser. */
export function domainUuidCommand(uri: string, name: string): Command {
  return virsh(uri, 'domuuid', '--domain', name);
}

/**
 * An action run in readDomain's own virsh process, before the read: one process start and
 * libvirt connect instead of two (≈30 ms each), and the read shows what the action left.
 * What it answers when there is nothing to do (see ActionAnswerKind) is no error: the caller gets
 * it and judges by the domain read after it. Any other error line fails the read with virsh's
 * words. The domain is always its UUID; a snapshot's name and description are checked by
 * virsh-snapshot.ts and every word after the verb is quoted (quoteVirshArg), so virsh's batch
 * parser reads the same words the argv form would get.
 */
export type DomainAction =
  | { readonly verb: 'start' | 'destroy' | 'suspend' | 'resume' }
  | { readonly verb: 'snapshot-create-as'; readonly name: string; readonly description?: string }
  | { readonly verb: 'snapshot-revert' | 'snapshot-delete'; readonly name: string };

/** The power actions (start-vm, destroy-vm, suspend-vm, resume-vm). */
export type PowerStep = Extract<DomainAction, { verb: 'start' | 'destroy' | 'suspend' | 'resume' }>;

/**
 * How an action said "nothing to do" (virsh 9.0's words, measured on qemu:///system unless noted;
 * the test driver words the power ones differently, "internal error: domain 'x' not paused"):
 * - already: start of an active domain, destroy of a shut-off one, resume of a running one;
 * - not_running: suspend or resume of a shut-off domain, or of a pmsuspended one (that wording
 *   from libvirt's qemu driver source: no guest here reaches S3);
 * - exists: snapshot-create-as of a name the domain already has;
 * - unsupported: snapshot-create-as refused before anything was done ("unsupported configuration:
 *   internal snapshot for disk vdb unsupported for storage type raw"; "nothing selected for
 *   snapshot" with no disk), running or shut off, the domain's state untouched;
 * - not_found: snapshot-revert or snapshot-delete of a name the domain does not have.
 */
export type ActionAnswerKind = 'already' | 'not_running' | 'exists' | 'unsupported' | 'not_found';

export interface ActionAnswer {
  readonly kind: ActionAnswerKind;
  /** virsh's line, "error: " left off. */
  readonly said: string;
}

interface ActionRules {
  /** Lines that only introduce the answer ("error: Failed to start domain 'X'"). */
  readonly preface: readonly RegExp[];
  readonly answers: ReadonlyArray<readonly [ActionAnswerKind, RegExp]>;
}

const INVALID = 'error: Requested operation is not valid: domain is';
const POWER_RULES: Record<PowerStep['verb'], ActionRules> = {
  // virsh itself refuses an active domain before asking libvirt ("Domain is already active");
  // the qemu driver's own words come only when the domain started in between.
  start: { preface: [/^error: Failed to start domain '/], answers: [['already', new RegExp(`^(?:error: Domain is already active|${INVALID} already active)$`)]] },
  destroy: { preface: [/^error: Failed to destroy domain '/], answers: [['already', new RegExp(`^${INVALID} not running$`)]] },
  suspend: { preface: [/^error: Failed to suspend domain '/], answers: [['not_running', new RegExp(`^${INVALID} (?:not running|pmsuspended)$`)]] },
  resume: {
    preface: [/^error: Failed to resume domain '/],
    answers: [
      ['already', new RegExp(`^${INVALID} already running$`)],
      ['not_running', new RegExp(`^${INVALID} (?:not running|pmsuspended)$`)],
    ],
  },
};

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function actionRules(action: DomainAction): ActionRules {
  switch (action.verb) {
    case 'snapshot-create-as':
      return {
        preface: [],
        answers: [
          ['exists', new RegExp(`^error: operation failed: domain (?:moment|snapshot) ${escapeRegExp(action.name)} already exists$`)],
          ['unsupported', /^error: unsupported configuration: /],
        ],
      };
    case 'snapshot-revert':
    case 'snapshot-delete':
      return { preface: [], answers: [['not_found', snapshotNotFoundLine(action.name)]] };
    default:
      return POWER_RULES[action.verb];
  }
}

function snapshotNotFoundLine(name: string): RegExp {
  return new RegExp(`^error: Domain snapshot not found: no domain snapshot with matching name '${escapeRegExp(name)}'$`);
}

function actionCommand(uuid: string, action: DomainAction): string {
  switch (action.verb) {
    case 'snapshot-create-as':
      return quotedAfterVerb(snapshotCreateAsArgs(uuid, action.name, action.description));
    case 'snapshot-revert':
    case 'snapshot-delete':
      return quotedAfterVerb(snapshotNamedArgs(action.verb, uuid, action.name));
    default:
      return `${action.verb} --domain ${uuid}`;
  }
}

function quotedAfterVerb([verb, ...words]: string[]): string {
  return [verb, ...words.map(quoteVirshArg)].join(' ');
}

/**
 * The answer, if the action gave one. A snapshot read in the same batch can print the very line a
 * revert prints for an unknown name; `echoes` counts such lines the read explains (its empty XML
 * sections for that name), so only a line beyond them is the action's.
 */
function answerOf(rules: ActionRules, stderr: string, echoes: (kind: ActionAnswerKind) => number): ActionAnswer | undefined {
  const lines = stderr.split('\n').filter((l) => l.startsWith('error: '));
  for (const [kind, re] of rules.answers) {
    const hits = lines.filter((l) => re.test(l));
    const said = hits[0];
    if (said !== undefined && hits.length > echoes(kind)) return { kind, said: said.slice('error: '.length) };
  }
  return undefined;
}

/**
 * What an earlier read saw of a domain (readHintOf): the snapshots whose XML and the networks
 * whose DHCP leases to read in the same virsh process as the rest, instead of a second one after
 * it. Only a guess: the snapshot list and the domain XML read in that process decide; a snapshot
 * or network the hint missed is read in a second process as before, one it named in vain costs a
 * line of stderr that means no harm.
 */
export interface ReadHint {
  readonly snapshots?: readonly string[];
  readonly networks?: readonly string[];
}

export function readHintOf(domain: DomainInventory): ReadHint {
  return { snapshots: domain.snapshots.map((s) => s.name), networks: networksOf(domain.interfaces) };
}

function networksOf(interfaces: readonly { network?: string }[]): string[] {
  return [...new Set(interfaces.flatMap((i) => (i.network ? [i.network] : [])))];
}

export function readDomainSteps(uuid: string): BatchStep[] {
  if (!UUID.test(uuid)) throw new Error(`not a UUID: ${uuid}`);
  return [
    { kind: 'x', id: uuid, command: `dumpxml ${uuid}` },
    { kind: 'st', id: uuid, command: `domstats --state ${uuid}` },
    { kind: 'dom-autostart', id: '', command: 'list --all --autostart --uuid' },
    { kind: 'dom-persistent', id: '', command: 'list --all --persistent --uuid' },
    ...snapshotListSteps(uuid),
  ];
}

async function resolveUuid(run: RunCommand, uri: string, ref: { uuid?: string; name?: string }): Promise<string | null> {
  if (ref.uuid) return ref.uuid.toLowerCase();
  if (!ref.name) throw new Error('readDomain needs a uuid or a name');
  const result = await run(domainUuidCommand(uri, ref.name));
  if (result.exitCode !== 0 && !result.timedOut && !result.aborted && isDomainNotFound(result.stderr)) return null;
  if (result.exitCode !== 0 || result.timedOut || result.aborted) throw new CommandFailedError(result);
  const uuid = result.stdout.trim();
  if (!UUID.test(uuid)) throw new VirshInventoryError(result, `domuuid printed no UUID: ${uuid.slice(0, 80)}`);
  return uuid.toLowerCase();
}

function leaseSteps(networks: readonly string[]): BatchStep[] {
  return networks.map((name, i) => ({ kind: 'l', id: String(i), command: `net-dhcp-leases --network ${quoteVirshArg(name)}` }));
}

/** Each network's leases by MAC, read from `l:<index>` sections of leaseSteps(networks). */
function leasesFrom(batch: BatchRun, networks: readonly string[]): Map<string, Map<string, string[]>> {
  return new Map(networks.map((name, i) => [name, addressesByMac(parseDhcpLeases(batch.sections.get(`l:${i}`) ?? ''))]));
}

async function leasesOf(run: RunCommand, uri: string, networks: readonly string[]): Promise<Map<string, Map<string, string[]>>> {
  if (networks.length === 0) return new Map();
  return leasesFrom(await runVirshBatch(run, uri, leaseSteps(networks)), networks);
}

/** Snapshot XML steps of one domain, `s:<uuid>.<index>`, names quoted. */
function domainSnapshotSteps(uuid: string, names: readonly string[]): BatchStep[] {
  return snapshotXmlSteps(new Map([[uuid, { names: [...names] }]]));
}

/** Non-empty XML by snapshot name from the `s:<uuid>.<index>` sections (empty: no such snapshot). */
function snapshotXmlsFrom(batch: BatchRun, uuid: string, names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  names.forEach((name, i) => {
    const xml = batch.sections.get(`s:${uuid}.${i}`)?.trim();
    if (xml) out.set(name, xml);
  });
  return out;
}

async function snapshotXmlsOf(run: RunCommand, uri: string, uuid: string, names: readonly string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  return snapshotXmlsFrom(await runVirshBatch(run, uri, domainSnapshotSteps(uuid, names)), uuid, names);
}

export interface ActedDomain {
  /** The domain as read after the action; null when libvirt has no such domain. */
  readonly domain: DomainInventory | null;
  /** How the action said "nothing to do"; absent when it did its work. */
  readonly answer?: ActionAnswer;
}

/**
 * The one-domain read: `action` first, then the domain, its lists, and the guessed snapshot XMLs
 * and leases (the hint), all in one virsh process; what the guess missed in one more (two, when
 * both snapshots and leases were missed, side by side).
 */
async function readOne(run: RunCommand, uri: string, uuid: string, name: string | undefined, action: DomainAction | undefined, hint: ReadHint): Promise<ActedDomain> {
  const nonce = newBatchNonce();
  const reads = readDomainSteps(uuid); // checks the UUID first
  const required = action ? [{ kind: 'act', id: '', command: actionCommand(uuid, action) }, ...reads] : reads;
  // Leases first: few, and wasted on a shut-off domain, but a second process when missed.
  const guessedNets = [...new Set(hint.networks ?? [])];
  const guessedSnaps = [...new Set(hint.snapshots ?? [])];
  const guesses = [...leaseSteps(guessedNets), ...domainSnapshotSteps(uuid, guessedSnaps)];
  const fit = stepsThatFit(required, guesses, nonce);
  const nets = guessedNets.slice(0, fit);
  const snaps = guessedSnaps.slice(0, Math.max(0, fit - guessedNets.length));
  const rules = action ? actionRules(action) : undefined;
  // A snapshot action may save a large guest's memory: it gets that command's own time limit.
  const runBatch = action?.verb.startsWith('snapshot-') ? (cmd: Command) => run({ ...cmd, timeoutMs: SNAPSHOT_TIMEOUT_MS }) : run;
  const batch = await runVirshBatch(runBatch, uri, [...required, ...guesses.slice(0, fit)], nonce, rules ? [...rules.preface, ...rules.answers.map(([, re]) => re)] : []);

  const read = snapshotXmlsFrom(batch, uuid, snaps);
  const echoes = (kind: ActionAnswerKind) => (kind === 'not_found' && action && 'name' in action && snaps.includes(action.name) && !read.has(action.name) ? 1 : 0);
  const answer = rules ? answerOf(rules, batch.stderr, echoes) : undefined;
  const withAnswer = (domain: DomainInventory | null): ActedDomain => (answer ? { domain, answer } : { domain });

  const xml = requiredSection(batch, `x:${uuid}`, uuid);
  if (!xml) return withAnswer(null);
  const facts = parseDomainXml(xml);
  if (name !== undefined && facts.name !== name) return withAnswer(null);
  const runState = parseDomStats(batch.sections.get(`st:${uuid}`) ?? '').get(facts.name);
  const listed = readSnapshotNames(batch.sections, uuid);
  const live = runState !== undefined && ACTIVE_STATES.has(runState.state);
  const domainNets = live ? networksOf(facts.interfaces) : [];
  const [more, moreLeases] = await Promise.all([
    snapshotXmlsOf(run, uri, uuid, listed.names.filter((n) => !read.has(n))),
    leasesOf(run, uri, domainNets.filter((n) => !nets.includes(n))),
  ]);
  const guessedLeases = leasesFrom(batch, nets);
  const leases = new Map(domainNets.map((n) => [n, guessedLeases.get(n) ?? moreLeases.get(n) ?? new Map<string, string[]>()]));
  const snapshots = listed.names.flatMap((n) => {
    const text = read.get(n) ?? more.get(n);
    // Absent: deleted since it was listed (virsh said "Domain snapshot not found").
    return text ? [{ ...parseSnapshotXml(text), current: n === listed.current }] : [];
  });
  const inList = (kind: string) => parseLines(batch.sections.get(`${kind}:`)).some((l) => l.trim().toLowerCase() === uuid);
  return withAnswer(assembleDomain(facts, { run: runState, persistent: inList('dom-persistent'), autostart: inList('dom-autostart'), snapshots, leases }));
}

/**
 * One domain by UUID (preferred) or name, the same shape collectInventory gives; null when it
 * does not exist. A name is resolved with its own argv-form virsh call, never put in a batch;
 * virsh also accepts an ID or UUID there, so a domain whose XML name differs counts as absent.
 * `first`: a power action to run in the same process before the read, judged by the state read
 * after it (a snapshot action, whose answer matters, goes through actOnDomain).
 */
export async function readDomain(run: RunCommand, uri: string, ref: { uuid?: string; name?: string }, first?: PowerStep): Promise<DomainInventory | null> {
  const uuid = await resolveUuid(run, uri, ref);
  if (!uuid) return null;
  return (await readOne(run, uri, uuid, ref.uuid ? undefined : ref.name, first, {})).domain;
}

/** `action` on the domain with this UUID, then readDomain, in one virsh process; with what the action answered. */
export function actOnDomain(run: RunCommand, uri: string, uuid: string, action: DomainAction, hint: ReadHint = {}): Promise<ActedDomain> {
  return readOne(run, uri, uuid.toLowerCase(), undefined, action, hint);
}
