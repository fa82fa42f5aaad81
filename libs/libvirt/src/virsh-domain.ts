import type { Command } from '@virtfleet/exec';
import type { PowerState } from '@virtfleet/contracts';
import { isTransientFailure, virsh } from './virsh';
import { checkInt, checkPath, checkUuid, UnsafeValueError } from './virt-install';

// Domain actions, always by UUID: a domain renamed by hand is still found, and virsh tries an
// argument as id, then UUID, then name, so a UUID never hits a domain that is *named* like one.
// Facts below were measured on libvirt 9.0 / QEMU 7.2 under TCG with a no-OS domain (SeaBIOS,
// no ACPI handler, no balloon driver). Under -q a successful action prints nothing at all.

// Long enough for destroy (libvirt waits for QEMU to die) and a busy libvirtd.
export const VIRSH_TIMEOUT_MS = 60_000;

function onDomain(uri: string, action: string, uuid: string, ...rest: string[]): Command {
  return { ...virsh(uri, action, '--domain', checkUuid('uuid', uuid), ...rest), timeoutMs: VIRSH_TIMEOUT_MS };
}

/** A running or paused domain: rc 1 "Domain is already active". */
export function virshStart(uri: string, uuid: string): Command {
  return onDomain(uri, 'start', uuid);
}

/**
 * ACPI power button. rc 0 even when nothing in the guest listens (the domain stays running), so
 * the caller watches domstate. A paused domain gives "domain is not running".
 */
export function virshShutdown(uri: string, uuid: string): Command {
  return onDomain(uri, 'shutdown', uuid, '--mode', 'acpi');
}

/**
 * Pull the plug. graceful: SIGTERM only (QEMU flushes its caches), no SIGKILL fallback, so it
 * can fail on a hung QEMU where plain destroy does not. Shut off: "domain is not running".
 */
export function virshDestroy(uri: string, uuid: string, opts: { graceful?: boolean } = {}): Command {
  return opts.graceful ? onDomain(uri, 'destroy', uuid, '--graceful') : onDomain(uri, 'destroy', uuid);
}

/** ACPI reboot (the guest agent is not configured on our domains). rc 0 on a paused domain too. */
export function virshReboot(uri: string, uuid: string): Command {
  return onDomain(uri, 'reboot', uuid, '--mode', 'acpi');
}

/** Idempotent both ways; a transient domain: "cannot set autostart for transient domain". */
export function virshAutostart(uri: string, uuid: string, enabled: boolean): Command {
  return enabled ? onDomain(uri, 'autostart', uuid) : onDomain(uri, 'autostart', uuid, '--disable');
}

/**
 * - maximum: `--maximum --config` (virsh refuses --maximum without --config); takes effect at
 *   the next boot.
 * - config: the count at the next boot, up to the config maximum ("… max allowable vcpus for
 *   the persistent domain: 2 > 1").
 * - live: hotplug works under TCG up to the *live* maximum, which only changes at a boot ("…
 *   for the live domain: 2 > 1"). Going below the count the domain booted with fails: "failed
 *   to find appropriate hotpluggable vcpus …". Both mean: next boot only.
 */
export type VcpuTarget = 'maximum' | 'config' | 'live';

export function virshSetVcpus(uri: string, uuid: string, count: number, target: VcpuTarget): Command {
  const n = String(checkInt('count', count, 1, 4096));
  const flags = target === 'maximum' ? ['--maximum', '--config'] : [`--${checkTarget(target, ['config', 'live'])}`];
  return onDomain(uri, 'setvcpus', uuid, '--count', n, ...flags);
}

/**
 * The boot-time maximum (<memory>): --config only. --live (or no flag) on a running domain:
 * "cannot resize the maximum memory on an active domain"; on a shut-off one: "domain is not running".
 */
export function virshSetMaxMem(uri: string, uuid: string, mib: number): Command {
  return onDomain(uri, 'setmaxmem', uuid, '--size', mibSize(mib), '--config');
}

/**
 * The balloon target (<currentMemory>), at most the maximum ("cannot set memory higher than max
 * memory"). live: rc 0 even when the guest has no balloon driver, and then nothing changes
 * (domstats balloon.current stays): read it back before reporting it as applied.
 */
export function virshSetMem(uri: string, uuid: string, mib: number, target: 'config' | 'live'): Command {
  return onDomain(uri, 'setmem', uuid, '--size', mibSize(mib), `--${checkTarget(target, ['config', 'live'])}`);
}

// "MiB" and not "M": both are binary to virsh, but MB would be decimal and M reads like it.
function mibSize(mib: number): string {
  return `${checkInt('mib', mib, 1, 1024 ** 3)}MiB`;
}

function checkTarget<T extends string>(target: string, allowed: readonly T[]): T {
  const match = allowed.find((a) => a === target);
  if (match === undefined) throw new UnsafeValueError('target', `must be one of ${allowed.join(', ')}`);
  return match;
}

/** maximum/current × config/live; a shut-off domain has only the config rows. */
export function virshVcpuCount(uri: string, uuid: string): Command {
  return onDomain(uri, 'vcpucount', uuid);
}

export function virshDomState(uri: string, uuid: string): Command {
  return onDomain(uri, 'domstate', uuid, '--reason');
}

export function virshDomInfo(uri: string, uuid: string): Command {
  return onDomain(uri, 'dominfo', uuid);
}

/**
 * Define (or redefine) from an XML file. --validate checks the libvirt schema: without it an
 * unknown element is dropped silently and the define succeeds.
 */
export function virshDefine(uri: string, xmlPath: string, opts: { validate?: boolean } = {}): Command {
  const args = ['define', '--file', checkPath('xmlPath', xmlPath)];
  if (opts.validate ?? true) args.push('--validate');
  return { ...virsh(uri, ...args), timeoutMs: VIRSH_TIMEOUT_MS };
}

export interface UndefineOptions {
  readonly snapshotsMetadata?: boolean;
  readonly checkpointsMetadata?: boolean;
}

/**
 * Remove the definition. A running domain is not stopped: it goes on as a transient one (rc 0),
 * so destroy it first. Always --nvram (fine on a BIOS domain; with an <nvram> it refuses without:
 * "cannot undefine domain with nvram"; with it, libvirt deletes that file, wherever it is) and
 * --managed-save (else "Refusing to undefine while domain managed save image exists"). Snapshot
 * metadata only when asked ("cannot delete inactive domain with 1 snapshots"). Never
 * --remove-all-storage: we delete disks ourselves, inside our roots, and it reports rc 0 for
 * files it could not remove.
 */
export function virshUndefine(uri: string, uuid: string, opts: UndefineOptions = {}): Command {
  const args = ['--nvram', '--managed-save'];
  if (opts.snapshotsMetadata) args.push('--snapshots-metadata');
  if (opts.checkpointsMetadata) args.push('--checkpoints-metadata');
  return onDomain(uri, 'undefine', uuid, ...args);
}

/**
 * inactive: the persistent config (what the next boot gets), not the running one. securityInfo:
 * with passwords (a clone keeps its source's VNC password) — never log that output.
 */
export function virshDumpXml(uri: string, uuid: string, opts: { inactive?: boolean; securityInfo?: boolean } = {}): Command {
  return onDomain(uri, 'dumpxml', uuid, ...(opts.inactive ? ['--inactive'] : []), ...(opts.securityInfo ? ['--security-info'] : []));
}

export function virshDomBlkList(uri: string, uuid: string): Command {
  return onDomain(uri, 'domblklist', uuid, '--details');
}

export function virshDomIfList(uri: string, uuid: string): Command {
  return onDomain(uri, 'domiflist', uuid);
}

/**
 * Addresses from the libvirt network's DHCP leases (the default source). arp fails on this host
 * kernel ("wrong nlmsg len"), agent needs a guest agent we do not configure. A shut-off domain:
 * "domain is not running".
 */
export function virshDomIfAddr(uri: string, uuid: string): Command {
  return onDomain(uri, 'domifaddr', uuid, '--source', 'lease');
}

// ---- parsers ----

export class VirshParseError extends Error {
  constructor(
    readonly what: string,
    readonly text: string,
  ) {
    super(`cannot parse virsh ${what}: ${JSON.stringify(text.slice(0, 200))}`);
    this.name = 'VirshParseError';
  }
}

// virsh's words for virDomainState (strings in the virsh binary); "blocked" is what older virsh said.
const STATE_WORDS: Readonly<Record<string, PowerState>> = {
  'no state': 'nostate',
  running: 'running',
  idle: 'blocked',
  blocked: 'blocked',
  paused: 'paused',
  'in shutdown': 'shutdown',
  'shut off': 'shutoff',
  crashed: 'crashed',
  pmsuspended: 'pmsuspended',
};

export function parsePowerState(word: string): PowerState {
  const state = STATE_WORDS[word.trim()];
  if (state === undefined) throw new VirshParseError('state', word);
  return state;
}

export interface DomState {
  readonly state: PowerState;
  /** booted, unpaused, user, destroyed, shutdown, saved, failed, from snapshot … */
  readonly reason?: string;
}

/** `domstate --reason`: "running (booted)", "paused (user)", "shut off (destroyed)". */
export function parseDomState(stdout: string): DomState {
  const line = firstLine(stdout);
  const m = /^(.+?)(?: \((.+)\))?$/.exec(line);
  if (!m?.[1]) throw new VirshParseError('domstate', stdout);
  return { state: parsePowerState(m[1]), ...(m[2] ? { reason: m[2] } : {}) };
}

export interface VcpuCount {
  readonly maximumConfig?: number;
  readonly maximumLive?: number;
  readonly currentConfig?: number;
  readonly currentLive?: number;
}

/** `vcpucount`: "maximum      config         4" rows; a shut-off domain has no live rows. */
export function parseVcpuCount(stdout: string): VcpuCount {
  const out: { -readonly [K in keyof VcpuCount]: number } = {};
  for (const line of lines(stdout)) {
    const m = /^(maximum|current)\s+(config|live)\s+(\d+)$/.exec(line);
    if (!m) throw new VirshParseError('vcpucount', stdout);
    const key = `${m[1]}${m[2] === 'config' ? 'Config' : 'Live'}` as keyof VcpuCount;
    out[key] = Number(m[3]);
  }
  if (Object.keys(out).length === 0) throw new VirshParseError('vcpucount', stdout);
  return out;
}

export interface DomInfo {
  /** Absent while shut off ("Id: -"). */
  readonly id?: number;
  readonly name: string;
  readonly uuid: string;
  readonly osType: string;
  readonly state: PowerState;
  readonly cpus: number;
  /** Only while it runs. */
  readonly cpuTimeSeconds?: number;
  readonly maxMemoryKiB: number;
  readonly usedMemoryKiB: number;
  readonly persistent: boolean;
  readonly autostart: boolean;
  readonly managedSave: boolean;
  readonly securityModel?: string;
}

/** `dominfo`: "Key:<spaces>Value" lines. */
export function parseDominfo(stdout: string): DomInfo {
  const kv = new Map<string, string>();
  for (const line of lines(stdout)) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m?.[1]) kv.set(m[1], m[2] ?? '');
  }
  const need = (key: string): string => {
    const v = kv.get(key);
    if (v === undefined) throw new VirshParseError(`dominfo (no ${key})`, stdout);
    return v;
  };
  const id = kv.get('Id');
  const cpuTime = kv.get('CPU time');
  const securityModel = kv.get('Security model');
  return {
    ...(id && id !== '-' ? { id: Number(id) } : {}),
    name: need('Name'),
    uuid: need('UUID'),
    osType: need('OS Type'),
    state: parsePowerState(need('State')),
    cpus: Number(need('CPU(s)')),
    ...(cpuTime ? { cpuTimeSeconds: Number.parseFloat(cpuTime) } : {}),
    maxMemoryKiB: kib(need('Max memory'), stdout),
    usedMemoryKiB: kib(need('Used memory'), stdout),
    persistent: need('Persistent') === 'yes',
    autostart: need('Autostart') === 'enable',
    managedSave: need('Managed save') === 'yes',
    ...(securityModel ? { securityModel } : {}),
  };
}

function kib(value: string, stdout: string): number {
  const m = /^(\d+) KiB$/.exec(value);
  if (!m) throw new VirshParseError('dominfo memory', stdout);
  return Number(m[1]);
}

export interface BlkListEntry {
  /** file | block | network | volume */
  readonly type: string;
  /** disk | cdrom | floppy | lun */
  readonly device: string;
  readonly target: string;
  /** Absent for an empty cdrom ("-"). */
  readonly source?: string;
}

/** `-q domblklist --details`: " file   disk   vda   /path.qcow2". */
export function parseDomBlkList(stdout: string): BlkListEntry[] {
  return lines(stdout).map((line) => {
    const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(.+)$/.exec(line);
    if (!m?.[1] || !m[2] || !m[3] || !m[4]) throw new VirshParseError('domblklist', stdout);
    return { type: m[1], device: m[2], target: m[3], ...(m[4] !== '-' ? { source: m[4] } : {}) };
  });
}

export interface IfListEntry {
  /** Host device (vnet0) while it runs. */
  readonly interface?: string;
  /** network | bridge | direct … */
  readonly type: string;
  readonly source?: string;
  readonly model?: string;
  readonly mac: string;
}

/** `-q domiflist`: " vnet0   network   default   virtio   52:54:00:bc:11:f6"; "-" for none. */
export function parseDomIfList(stdout: string): IfListEntry[] {
  return lines(stdout).map((line) => {
    const f = line.split(/\s+/);
    const [iface, type, source, model, mac] = f;
    if (f.length !== 5 || !iface || !type || !source || !model || !mac) throw new VirshParseError('domiflist', stdout);
    const opt = (key: string, v: string) => (v === '-' ? {} : { [key]: v });
    return { ...opt('interface', iface), type, ...opt('source', source), ...opt('model', model), mac };
  });
}

function lines(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

function firstLine(stdout: string): string {
  return lines(stdout)[0] ?? '';
}

// ---- errors ----

export type VirshErrorKind =
  | 'not_found'
  | 'already_running'
  | 'not_running'
  | 'not_paused'
  | 'has_snapshots'
  | 'has_managed_save'
  | 'has_nvram'
  | 'transient_domain'
  | 'needs_next_boot'
  | 'exceeds_maximum'
  | 'invalid_xml'
  | 'conflict'
  | 'agent_unavailable'
  | 'transient_failure'
  | 'other';

// Real stderr (virsh -q, libvirt 9.0). The first match wins, so the order matters.
const ERROR_KINDS: ReadonlyArray<readonly [VirshErrorKind, RegExp]> = [
  // "error: failed to get domain '<uuid>'" (lookup); the API's own words when it vanished mid-call.
  ['not_found', /failed to get domain|Domain not found|no domain with matching/i],
  // start on a running or paused domain
  ['already_running', /Domain is already active/i],
  // resume on a running domain
  ['not_paused', /domain is already running/i],
  // destroy/shutdown/reboot/suspend/resume/setvcpus --live on a shut-off one; shutdown on a paused one
  ['not_running', /domain is not running/i],
  ['has_snapshots', /domain with \d+ snapshots/i],
  ['has_managed_save', /managed save image exists/i],
  ['has_nvram', /cannot undefine domain with nvram/i],
  ['transient_domain', /transient domain/i],
  ['needs_next_boot', /cannot resize the maximum memory on an active domain/i],
  ['needs_next_boot', /max allowable vcpus for the live domain|failed to find appropriate hotpluggable vcpus/i],
  ['exceeds_maximum', /max allowable vcpus for the persistent domain|cannot set memory higher than max memory/i],
  // define: schema (--validate) or well-formedness
  ['invalid_xml', /failed to validate against schema|\(domain_definition\)/i],
  // define: the name belongs to another UUID, or the UUID to another name
  ['conflict', /already exists with uuid|is already defined with uuid/i],
  ['agent_unavailable', /guest agent is not (configured|connected)/i],
];

/** What a failed virsh domain command means, from its stderr. */
export function classifyVirshError(stderr: string): VirshErrorKind {
  for (const [kind, re] of ERROR_KINDS) if (re.test(stderr)) return kind;
  return isTransientFailure(stderr) ? 'transient_failure' : 'other';
}

/**
 * The operation guide's `virsh detach-interface`, by MAC: live (the running domain; the guest
 * acknowledges the unplug) and/or config (the saved definition).
 */
export function virshDetachInterface(uri: string, uuid: string, type: string, mac: string, where: { live: boolean; config: boolean }): Command {
  if (!/^(network|bridge|direct|user|ethernet)$/.test(type)) throw new UnsafeValueError('type', 'unknown interface type');
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac)) throw new UnsafeValueError('mac', 'must be a lower-case MAC address');
  if (!where.live && !where.config) throw new UnsafeValueError('live', 'give live, config or both');
  return onDomain(uri, 'detach-interface', uuid, '--type', type, '--mac', mac, ...(where.live ? ['--live'] : []), ...(where.config ? ['--config'] : []));
}
