import { isIP } from 'node:net';
import { posix } from 'node:path';
import type { Command } from '@virtfleet/exec';
import {
  SAFE_NAME_PATTERN,
  bootDevice,
  diskBus,
  diskFormat,
  nicModel,
  type CreateVmPayload,
  type VmDiskSpec,
} from '@virtfleet/contracts';

// virt-install 4.1 parses every --disk/--network/--graphics/--boot/--vcpus value with shlex
// (posix, "," as the only separator) and splits each token at its first "=". A "," or "=" in a
// value starts a new key, and some keys (kernel, cpuset, kernel_args …) swallow the tokens after
// them, so `kernel_args=a,kernel=/etc/shadow` really does boot /etc/shadow. The contract checks
// every value at the API; this file checks them again before they reach argv (DESIGN.md).

/** A value that must not reach argv. The value itself is left out: it may be a password. */
export class UnsafeValueError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`unsafe value in ${field}: ${reason}`);
    this.name = 'UnsafeValueError';
  }
}

/** The spec lacks something the host should have resolved (a path, a size). */
export class IncompleteSpecError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'IncompleteSpecError';
  }
}

export interface ResolvedVmDisk extends VmDiskSpec {
  /** Absolute path under the host's store root. */
  readonly path: string;
  /** The host makes it now (size= from sizeGiB); false for a disk that exists already. */
  readonly create: boolean;
}

/** A create-vm payload after the host resolved names to paths, the OS id and the domain type. */
export interface VirtInstallSpec extends Omit<CreateVmPayload, 'uuid' | 'disks' | 'networks'> {
  readonly uri: string;
  /** openvswitch on a NIC whose bridge is an Open vSwitch bridge (the agent checks the host). */
  readonly networks: ReadonlyArray<CreateVmPayload['networks'][number] & { virtualport?: 'openvswitch' }>;
  readonly uuid: string;
  /** kvm | qemu …; omitted for the test driver (which refuses --virt-type qemu). */
  readonly virtType?: string;
  readonly disks: readonly ResolvedVmDisk[];
  /** install.kind cdrom, or location with iso. */
  readonly isoPath?: string;
  /** install.kind kernel. */
  readonly kernelPath?: string;
  readonly initrdPath?: string;
  /** When serial is on: the console log file (virtlogd truncates it on every start). */
  readonly serialLogPath?: string;
}

// Long enough for --location to fetch a kernel and initrd from a slow mirror; the job's own
// timeout is longer still.
export const VIRT_INSTALL_TIMEOUT_MS = 10 * 60_000;

/**
 * virt-install that defines and starts the domain, returning once it runs. --noautoconsole
 * alone does that for every install kind: virt-install only waits for an install to finish
 * when --wait is given (and --wait 0 is just a deprecated spelling of --noautoconsole).
 */
export function virtInstallCommand(spec: VirtInstallSpec): Command {
  return { cmd: 'virt-install', args: buildArgs(spec), timeoutMs: VIRT_INSTALL_TIMEOUT_MS, ...secretsOf(spec) };
}

/** The VNC password is in argv (virt-install has no other way): never in logs or job errors. */
function secretsOf(spec: VirtInstallSpec): Pick<Command, 'secrets'> {
  return spec.graphics.type === 'vnc' && spec.graphics.password ? { secrets: [`password=${spec.graphics.password}`] } : {};
}

/**
 * The domain XML virt-install would use, nothing defined or started. --dry-run keeps
 * --print-xml from allocating size= disks (alone it creates them). Neither keeps virt-install
 * from auto-creating a persistent, autostarted dir pool for a disk's or ISO's directory that no
 * pool covers yet: give those directories a pool first. Installs with an install phase (cdrom,
 * location, pxe) print two <domain> documents, the install boot and the final one:
 * see splitPrintedDomains.
 */
export function virtInstallPrintXml(spec: VirtInstallSpec): Command {
  return { cmd: 'virt-install', args: [...buildArgs(spec), '--print-xml', '--dry-run'], timeoutMs: VIRT_INSTALL_TIMEOUT_MS };
}

/** `virt-install --print-xml` output → one XML string per <domain> document. */
export function splitPrintedDomains(stdout: string): string[] {
  return stdout.match(/<domain[\s>][\s\S]*?<\/domain>/g) ?? [];
}

function buildArgs(spec: VirtInstallSpec): string[] {
  return [
    ...identityArgs(spec),
    ...resourceArgs(spec),
    ...installArgs(spec),
    ...diskArgs(spec.disks),
    ...networkArgs(spec.networks),
    ...graphicsArgs(spec.graphics),
    ...serialArgs(spec),
    ...bootArgs(spec),
    ...(checkBoolean('autostart', spec.autostart) ? ['--autostart'] : []),
    '--noautoconsole',
  ];
}

function identityArgs(spec: VirtInstallSpec): string[] {
  const args = ['--connect', checkUri(spec.uri), '--name', checkName('name', spec.name), '--uuid', checkUuid('uuid', spec.uuid)];
  if (spec.virtType !== undefined) args.push('--virt-type', checkPattern('virtType', spec.virtType, /^[a-z][a-z0-9]{0,15}$/));
  args.push('--osinfo', checkOsVariant(spec.osVariant));
  return args;
}

function resourceArgs(spec: VirtInstallSpec): string[] {
  const memory = checkInt('memoryMiB', spec.memoryMiB, 16);
  const maxMemory = spec.maxMemoryMiB === undefined ? undefined : checkInt('maxMemoryMiB', spec.maxMemoryMiB, memory);
  const vcpus = checkInt('vcpus', spec.vcpus, 1);
  const maxVcpus = spec.maxVcpus === undefined ? undefined : checkInt('maxVcpus', spec.maxVcpus, vcpus);
  // memory= and currentMemory= are the XML names; the legacy form (N,maxmemory=M) swaps them.
  const mem = maxMemory === undefined ? String(memory) : `memory=${maxMemory},currentMemory=${memory}`;
  const cpu = [String(vcpus)];
  if (maxVcpus !== undefined) cpu.push(`maxvcpus=${maxVcpus}`);
  // cpuset may hold commas (0-1,3): virt-install glues the tokens after cpuset= back on as long
  // as they are no key of --vcpus, so it goes last (verified: <vcpu cpuset="0-1,3">).
  if (spec.cpuset !== undefined) cpu.push(`cpuset=${checkCpuset(spec.cpuset)}`);
  return ['--memory', mem, '--vcpus', cpu.join(',')];
}

function installArgs(spec: VirtInstallSpec): string[] {
  const install = spec.install;
  switch (install.kind) {
    case 'import':
    case 'kernel': // --boot kernel= alone is no install method to virt-install
      return ['--import'];
    case 'cdrom':
      // No way to pin the ISO's format here: virt-install takes the format libvirt's pool probes
      // (an ISO holding a qcow2 header becomes <driver type="qcow2"/>, backing file and all). The
      // host must check the file's header before it resolves isoPath.
      checkName('install.iso', install.iso);
      return ['--cdrom', requirePath('isoPath', spec.isoPath)];
    case 'pxe':
      if (spec.networks.length === 0) throw new IncompleteSpecError('networks', 'pxe needs a network to boot from');
      return ['--pxe'];
    case 'location':
      return locationArgs(spec, install);
    default:
      throw new UnsafeValueError('install.kind', 'unknown install kind');
  }
}

type LocationSource = Extract<VirtInstallSpec['install'], { kind: 'location' }>;

function locationArgs(spec: VirtInstallSpec, install: LocationSource): string[] {
  let source: string;
  if (install.url !== undefined) source = checkUrl(install.url);
  else {
    checkName('install.iso', install.iso);
    source = requirePath('isoPath', spec.isoPath);
  }
  // --extra-args is one argv element that virt-install copies into <cmdline> as it is: commas
  // and "=" are fine there, only quotes, shell syntax and a leading "-" are not.
  return install.extraArgs === undefined
    ? ['--location', source]
    : ['--location', source, '--extra-args', checkQuotedArg('install.extraArgs', install.extraArgs)];
}

function diskArgs(disks: readonly ResolvedVmDisk[]): string[] {
  if (disks.length === 0) return ['--disk', 'none'];
  return disks.flatMap((disk, i) => ['--disk', diskOption(disk, `disks[${i}]`)]);
}

// format= only names the format of a volume virt-install creates. For a file that exists,
// virt-install 4.1 drops format= and takes the format libvirt's pool probed from the file's
// header: a "raw" disk that holds a qcow2 header with a backing file (/etc/shadow …) came out as
// <driver type="qcow2"/>. driver.type= pins the format in the XML either way.
function diskOption(disk: ResolvedVmDisk, field: string): string {
  checkName(`${field}.name`, disk.name);
  const format = checkEnum(`${field}.format`, disk.format, diskFormat.options);
  const parts = [
    `path=${checkPath(`${field}.path`, disk.path)}`,
    `driver.type=${format}`,
    `bus=${checkEnum(`${field}.bus`, disk.bus, diskBus.options)}`,
  ];
  if (checkBoolean(`${field}.create`, disk.create)) {
    if (disk.sizeGiB === undefined) throw new IncompleteSpecError(`${field}.sizeGiB`, 'a new disk needs a size');
    parts.push(`format=${format}`, `size=${checkInt(`${field}.sizeGiB`, disk.sizeGiB, 1)}`);
  }
  return parts.join(',');
}

function networkArgs(nics: VirtInstallSpec['networks']): string[] {
  if (nics.length === 0) return ['--network', 'none'];
  return nics.flatMap((nic, i) => ['--network', nicOption(nic, `networks[${i}]`)]);
}

function nicOption(nic: VirtInstallSpec['networks'][number], field: string): string {
  if ((nic.network === undefined) === (nic.bridge === undefined)) {
    throw new UnsafeValueError(`${field}.network`, 'give exactly one of network or bridge');
  }
  const parts = [
    nic.network !== undefined
      ? `network=${checkName(`${field}.network`, nic.network)}`
      : `bridge=${checkPattern(`${field}.bridge`, nic.bridge, /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/)}`,
    `model=${checkEnum(`${field}.model`, nic.model, nicModel.options)}`,
  ];
  if (nic.mac !== undefined) parts.push(`mac=${checkMac(`${field}.mac`, nic.mac)}`);
  // Without it libvirt plugs the tap into an OVS bridge as into a Linux bridge and fails
  // "Unable to add bridge br0 port vnet2: Operation not supported" (the operation guide's error).
  if (nic.virtualport !== undefined) parts.push(`virtualport.type=${checkEnum(`${field}.virtualport`, nic.virtualport, ['openvswitch'])}`);
  return parts.join(',');
}

function graphicsArgs(graphics: VirtInstallSpec['graphics']): string[] {
  if (graphics.type === 'none') return ['--graphics', 'none'];
  if (graphics.type !== 'vnc') throw new UnsafeValueError('graphics.type', 'unknown graphics type');
  const listen = checkIp('graphics.listen', graphics.listen);
  // DESIGN.md: listening on all addresses without a password is refused.
  if ((listen === '0.0.0.0' || listen === '::') && graphics.password === undefined) {
    throw new UnsafeValueError('graphics.listen', 'listening on all addresses needs a password');
  }
  const parts = ['vnc', `listen=${listen}`];
  if (graphics.port !== undefined) parts.push(`port=${checkInt('graphics.port', graphics.port, 5900, 65535)}`);
  // libvirt refuses more: "VNC password is 12 characters long, only 8 permitted".
  if (graphics.password !== undefined) parts.push(`password=${checkCommaSafe('graphics.password', graphics.password, 8)}`);
  return ['--graphics', parts.join(',')];
}

function serialArgs(spec: VirtInstallSpec): string[] {
  if (!checkBoolean('serial', spec.serial)) return [];
  return ['--serial', `pty,log.file=${requirePath('serialLogPath', spec.serialLogPath)}`];
}

function bootArgs(spec: VirtInstallSpec): string[] {
  // Boot devices first: kernel= and kernel_args= swallow the comma tokens that follow them.
  const parts: string[] = (spec.boot ?? []).map((dev, i) => checkEnum(`boot[${i}]`, dev, bootDevice.options));
  if (spec.install.kind === 'kernel') parts.push(...kernelBootParts(spec, spec.install));
  return parts.length === 0 ? [] : ['--boot', parts.join(',')];
}

type KernelSource = Extract<VirtInstallSpec['install'], { kind: 'kernel' }>;

function kernelBootParts(spec: VirtInstallSpec, install: KernelSource): string[] {
  checkName('install.kernel', install.kernel);
  const parts = [`kernel=${requirePath('kernelPath', spec.kernelPath)}`];
  if (install.initrd !== undefined) {
    checkName('install.initrd', install.initrd);
    parts.push(`initrd=${requirePath('initrdPath', spec.initrdPath)}`);
  }
  // Inside double quotes shlex keeps commas, "=" and spaces in one token, and the quotes are
  // dropped; the value holds no quote or backslash that could end them early.
  if (install.cmdline !== undefined) parts.push(`kernel_args="${checkQuotedArg('install.cmdline', install.cmdline)}"`);
  return parts;
}

// ---- checks: each returns the value it let through, so argv is built from checked values ----

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Never run by a shell, but job logs show argv and people paste those into one.
const SHELL = /\$\(|`/;

function checkString(field: string, value: unknown, max = 255): string {
  if (typeof value !== 'string' || value.length === 0) throw new UnsafeValueError(field, 'must be a non-empty string');
  if (value.length > max) throw new UnsafeValueError(field, `longer than ${max} characters`);
  if (CONTROL.test(value)) throw new UnsafeValueError(field, 'control character');
  if (SHELL.test(value)) throw new UnsafeValueError(field, 'shell syntax ("$(" or "`")');
  if (value.startsWith('-')) throw new UnsafeValueError(field, 'starts with "-"');
  return value;
}

/** A value inside virt-install's key=value,key=value syntax. */
export function checkCommaSafe(field: string, value: unknown, max = 255): string {
  const s = checkString(field, value, max);
  if (/[,="'\\\s]/.test(s)) throw new UnsafeValueError(field, 'contains ",", "=", a quote, a backslash or whitespace');
  return s;
}

/** Free text that goes into one argv element or between double quotes (kernel command line). */
export function checkQuotedArg(field: string, value: unknown): string {
  const s = checkString(field, value, 2048);
  if (/["'\\]/.test(s)) throw new UnsafeValueError(field, 'contains a quote or a backslash');
  return s;
}

/** An absolute, normalised path that can sit inside comma syntax. */
export function checkPath(field: string, value: unknown): string {
  const path = checkCommaSafe(field, value, 4096);
  if (!path.startsWith('/')) throw new UnsafeValueError(field, 'must be an absolute path');
  if (path.split('/').includes('..')) throw new UnsafeValueError(field, 'must not contain ".."');
  if (posix.normalize(path) !== path || path.endsWith('/')) throw new UnsafeValueError(field, 'must be a normalised path');
  return path;
}

function requirePath(field: string, value: string | undefined): string {
  if (value === undefined) throw new IncompleteSpecError(field, 'the host did not resolve it');
  return checkPath(field, value);
}

function checkName(field: string, value: unknown): string {
  return checkPattern(field, value, SAFE_NAME_PATTERN);
}

function checkPattern(field: string, value: unknown, pattern: RegExp, max = 255): string {
  const s = checkCommaSafe(field, value, max);
  if (!pattern.test(s)) throw new UnsafeValueError(field, `must match ${pattern.source}`);
  return s;
}

export function checkUuid(field: string, value: unknown): string {
  return checkPattern(field, value, /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/);
}

function checkMac(field: string, value: unknown): string {
  const mac = checkPattern(field, value, /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/).toLowerCase();
  if ((parseInt(mac.slice(0, 2), 16) & 1) !== 0) throw new UnsafeValueError(field, 'must be a unicast address');
  return mac;
}

function checkIp(field: string, value: unknown): string {
  const s = checkCommaSafe(field, value);
  if (isIP(s) === 0) throw new UnsafeValueError(field, 'must be an IP address');
  return s;
}

// Words virt-install takes as commands, not OS ids: "--osinfo list" and "--osinfo help" print and
// exit 0 without creating anything, "auto" turns on detection, "none" means generic.
const OSINFO_WORDS = new Set(['list', 'help', 'auto', 'none']);

function checkOsVariant(value: unknown): string {
  const s = checkPattern('osVariant', value, /^[a-z][a-z0-9.+-]{0,63}$/);
  if (OSINFO_WORDS.has(s)) throw new UnsafeValueError('osVariant', `"${s}" is a virt-install command word, not an OS id`);
  return s;
}

// The one value with commas inside comma syntax: its tokens are digits, ranges and ^, which no
// --vcpus key matches.
function checkCpuset(value: unknown): string {
  const s = checkString('cpuset', value);
  if (!/^\^?\d{1,4}(-\d{1,4})?(,\^?\d{1,4}(-\d{1,4})?)*$/.test(s)) throw new UnsafeValueError('cpuset', 'must be a CPU list such as 0-3,6');
  return s;
}

function checkUrl(value: unknown): string {
  return checkPattern('install.url', value, /^(https?|ftp|nfs):\/\/[A-Za-z0-9._~:/?#@!&+;%-]+$/, 1024);
}

function checkUri(value: unknown): string {
  const s = checkString('uri', value, 1024);
  if (!/^[a-z][a-z0-9+]*:\/\/[^\s"'\\]*$/.test(s)) throw new UnsafeValueError('uri', 'must be a libvirt URI');
  return s;
}

function checkEnum<T extends string>(field: string, value: unknown, options: readonly T[]): T {
  const match = options.find((o) => o === value);
  if (match === undefined) throw new UnsafeValueError(field, `must be one of ${options.join(', ')}`);
  return match;
}

export function checkInt(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  // A string cast past the types ("256,foo=bar") would otherwise be pasted into comma syntax.
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new UnsafeValueError(field, 'must be an integer');
  if (value < min || value > max) throw new UnsafeValueError(field, `must be between ${min} and ${max}`);
  return value;
}

function checkBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new UnsafeValueError(field, 'must be a boolean');
  return value;
}
