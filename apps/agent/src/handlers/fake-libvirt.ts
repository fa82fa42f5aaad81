import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { FakeOutcome, RunOptions } from '@virtfleet/exec';
import { parseDomainXml } from '@virtfleet/libvirt';

// Test-only (the handlers' specs import it; no agent code does): an emulated libvirt host behind
// FakeRunner. It answers what readDomain (libs/libvirt inventory.ts) and the handlers run, with
// output shaped like real virsh 9.0 under -q (captured from `virsh -c test:///default` and the
// qemu driver's messages quoted in virsh-domain.ts):
// - `domuuid --domain NAME` in argv form: the UUID and a newline, or rc 1
//   "error: failed to get domain 'NAME'";
// - batches `virsh -q -c URI "echo ==vf-<nonce>:x:<uuid>== ; dumpxml <uuid> ; …"`: every
//   command runs, `echo` prints its word without a newline, errors go to stderr, and the exit
//   code is the last command's (always the end-marker echo); start, destroy, suspend and resume
//   also run there, as the first command of readDomain's batch (batchActions records them);
// - domain actions in argv form (`start --domain <uuid>` …), rc 0 and no output on success;
//   `dumpxml --domain <uuid> [--inactive] [--security-info]` prints the XML;
// - `define --file PATH [--validate]` reads the file and defines (or redefines) a shut-off,
//   persistent domain from it; under -q it prints nothing;
// - `qemu-img convert -p -f F -O F [-c] [-S 0] SRC DST` (qemuImgConvert) copies SRC's bytes to DST
//   with "    (50.00/100%)\r" progress records on stdout; convertMode makes it fail or hang.
// ---------------------------------------------------------------------------------------------

export type FakeState = 'running' | 'paused' | 'shutoff';

export interface FakeDisk {
  source: string;
  device?: 'disk' | 'cdrom';
  type?: 'file' | 'block';
  format?: string;
  /** Default: vd<letter> (virtio) for a disk, sd<letter> (sata) for a cdrom, the letter by position. */
  target?: string;
  bus?: string;
  /** A cdrom is always read-only. */
  readonly?: boolean;
}

export interface FakeInterface {
  mac: string;
  /** A libvirt network (type='network'); the default one unless given. */
  network?: string;
  model?: string;
}

export interface FakeDomain {
  uuid: string;
  name: string;
  state: FakeState;
  persistent: boolean;
  autostart: boolean;
  snapshots: string[];
  disks: FakeDisk[];
  /**
   * The persistent definition's disks where they differ from the running domain's (a disk
   * attached with --config only): dumpxml --inactive shows them, the next start takes them.
   */
  configDisks?: FakeDisk[];
  interfaces: FakeInterface[];
  serialLog?: string;
  virtType: string;
  /** The persistent definition's vCPUs (what the next boot gets). */
  config: { max: number; cur: number };
  /** The running domain's vCPUs; the live maximum only changes at a boot. */
  live: { max: number; cur: number };
  /** No OS listening for ACPI (SeaBIOS, no guest): shutdown is rc 0 and nothing happens. */
  ignoresAcpi?: boolean;
}

/** How `qemu-img convert` behaves: copy; fail (rc 1, a partial DST left); hang (a partial DST, then wait for the run's abort). */
export type ConvertMode = 'copy' | 'fail' | 'hang';

export const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]); // 'QFI\xfb'

const STATE_NUMBER: Record<FakeState, number> = { running: 1, paused: 3, shutoff: 5 };
const STATE_WORDS: Record<FakeState, string> = { running: 'running (booted)', paused: 'paused (user)', shutoff: 'shut off (shutdown)' };

/** The domain as `virsh dumpxml` shows it; inactive: its persistent definition (`--inactive`, or shut off). */
export function domainXml(d: FakeDomain, opts: { inactive?: boolean } = {}): string {
  const active = d.state !== 'shutoff' && !opts.inactive;
  const v = active ? d.live : d.config;
  const disks = (active ? d.disks : (d.configDisks ?? d.disks)).map((disk, i) => {
    const type = disk.type ?? 'file';
    const device = disk.device ?? 'disk';
    const attr = type === 'block' ? 'dev' : 'file';
    const letter = String.fromCharCode(97 + i);
    const target = disk.target ?? (device === 'cdrom' ? `sd${letter}` : `vd${letter}`);
    const bus = disk.bus ?? (device === 'cdrom' ? 'sata' : 'virtio');
    return [
      `    <disk type='${type}' device='${device}'>`,
      `      <driver name='qemu' type='${disk.format ?? (device === 'cdrom' ? 'raw' : 'qcow2')}'/>`,
      `      <source ${attr}='${disk.source}'/>`,
      `      <target dev='${target}' bus='${bus}'/>`,
      ...(device === 'cdrom' || disk.readonly ? ['      <readonly/>'] : []),
      '    </disk>',
    ].join('\n');
  });
  const interfaces = d.interfaces.map((nic, i) =>
    [
      "    <interface type='network'>",
      `      <mac address='${nic.mac}'/>`,
      `      <source network='${nic.network ?? 'default'}'/>`,
      ...(active ? [`      <target dev='vnet${i}'/>`] : []),
      `      <model type='${nic.model ?? 'virtio'}'/>`,
      '    </interface>',
    ].join('\n'),
  );
  const serial = d.serialLog
    ? [
        "    <serial type='pty'>",
        `      <log file='${d.serialLog}' append='off'/>`,
        "      <target type='isa-serial' port='0'>",
        "        <model name='isa-serial'/>",
        '      </target>',
        '    </serial>',
      ]
    : [];
  return [
    `<domain type='${d.virtType}'${active ? " id='7'" : ''}>`,
    `  <name>${d.name}</name>`,
    `  <uuid>${d.uuid}</uuid>`,
    "  <memory unit='KiB'>524288</memory>",
    "  <currentMemory unit='KiB'>524288</currentMemory>",
    `  <vcpu placement='static'${v.cur !== v.max ? ` current='${v.cur}'` : ''}>${v.max}</vcpu>`,
    '  <os>',
    "    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>",
    "    <boot dev='hd'/>",
    '  </os>',
    '  <devices>',
    '    <emulator>/usr/bin/qemu-system-x86_64</emulator>',
    ...disks,
    ...interfaces,
    ...serial,
    '  </devices>',
    '</domain>',
    '',
  ].join('\n');
}

type Answer = { out?: string; err?: string };

export class FakeLibvirt {
  readonly domains = new Map<string, FakeDomain>();
  /** The XML of every successful `virsh define`, in order. */
  readonly defined: string[] = [];
  /** What the next `qemu-img convert` does (stays until changed). */
  convertMode: ConvertMode = 'copy';
  /** Called once a convert has written its first bytes to DST (before it fails or hangs). */
  onConvert?: (target: string) => void;
  private readonly failures = new Map<string, string>();

  constructor(readonly uri: string) {}

  add(d: Partial<FakeDomain> & Pick<FakeDomain, 'uuid' | 'name'>): FakeDomain {
    const dom: FakeDomain = {
      state: 'shutoff',
      persistent: true,
      autostart: false,
      snapshots: [],
      disks: [],
      interfaces: [],
      virtType: 'qemu',
      config: { max: 2, cur: 2 },
      live: { max: 2, cur: 2 },
      ...d,
    };
    this.domains.set(dom.uuid, dom);
    return dom;
  }

  get(uuid: string): FakeDomain | undefined {
    return this.domains.get(uuid);
  }

  /** Power actions that did something inside batches (start, destroy, suspend, resume), as argv words, in order. */
  readonly batchActions: string[][] = [];

  /** The next `virsh <verb> …` (argv form, or a power action in a batch) fails with this stderr (e.g. "error: …"), once. */
  failOnce(verb: string, stderr: string): void {
    this.failures.set(verb, stderr);
  }

  private takeFailure(verb: string): string | undefined {
    const stderr = this.failures.get(verb);
    this.failures.delete(verb);
    return stderr;
  }

  /** All virsh invocations: argv form or a batch script (one argument holding " ; "). */
  readonly virsh = (argv: readonly string[]): FakeOutcome => {
    expect(argv.slice(0, 4)).toEqual(['virsh', '-q', '-c', this.uri]);
    const words = argv.slice(4);
    if (words.length === 1 && words[0]?.startsWith('echo ')) return this.batch(words[0]);
    const injected = this.takeFailure(words[0] ?? '');
    if (injected !== undefined) return { stderr: `${injected}\n`, exitCode: 1 };
    const res = words[0] === 'define' ? this.define(words.slice(1)) : this.action(words);
    return { stdout: res.out ?? '', stderr: res.err ? `${res.err}\n` : '', exitCode: res.err ? 1 : 0 };
  };

  private batch(script: string): FakeOutcome {
    let stdout = '';
    let stderr = '';
    let failed = false;
    for (const command of script.split(' ; ')) {
      const a: Answer = command.startsWith('echo ') ? { out: command.slice(5) } : this.batchCommand(command);
      stdout += a.out ?? '';
      stderr += a.err ? `${a.err}\n` : '';
      failed = a.err !== undefined;
    }
    return { stdout, stderr, exitCode: failed ? 1 : 0 };
  }

  private gone(id: string): Answer {
    return { err: `error: failed to get domain '${id}'` };
  }

  private batchCommand(command: string): Answer {
    let m: RegExpExecArray | null;
    if ((m = /^dumpxml (\S+)$/.exec(command))) {
      const d = this.get(m[1] ?? '');
      return d ? { out: domainXml(d) } : this.gone(m[1] ?? '');
    }
    if ((m = /^domstats --state (\S+)$/.exec(command))) {
      const d = this.get(m[1] ?? '');
      return d ? { out: `Domain: '${d.name}'\n  state.state=${STATE_NUMBER[d.state]}\n  state.reason=1\n` } : this.gone(m[1] ?? '');
    }
    if (command === 'list --all --autostart --uuid') return { out: this.uuids((d) => d.autostart) };
    if (command === 'list --all --persistent --uuid') return { out: this.uuids((d) => d.persistent) };
    if ((m = /^snapshot-list (\S+) --name$/.exec(command))) {
      const d = this.get(m[1] ?? '');
      return d ? { out: d.snapshots.map((s) => `${s}\n`).join('') } : this.gone(m[1] ?? '');
    }
    if ((m = /^snapshot-current (\S+) --name$/.exec(command))) {
      const d = this.get(m[1] ?? '');
      if (!d) return this.gone(m[1] ?? '');
      const current = d.snapshots.at(-1);
      return current ? { out: current } : { err: `error: domain '${d.uuid}' has no current snapshot` };
    }
    if ((m = /^snapshot-dumpxml --domain (\S+) --snapshotname '([^']*)'$/.exec(command))) {
      const d = this.get(m[1] ?? '');
      if (!d) return this.gone(m[1] ?? '');
      if (!d.snapshots.includes(m[2] ?? '')) return { err: `error: Domain snapshot not found: no domain snapshot with matching name '${m[2]}'` };
      return { out: `<domainsnapshot>\n  <name>${m[2]}</name>\n  <state>shutoff</state>\n  <creationTime>1795636263</creationTime>\n</domainsnapshot>\n` };
    }
    if (/^net-dhcp-leases --network '[^']*'$/.test(command)) return { out: '' };
    if (/^(start|destroy|suspend|resume) --domain \S+$/.test(command)) {
      const injected = this.takeFailure(command.split(' ')[0] ?? '');
      if (injected !== undefined) return { err: injected };
      const words = command.split(' ');
      const before = this.get(words[2] ?? '')?.state;
      const a = this.action(words);
      // suspend of a paused domain succeeds and does nothing, as in libvirt
      if (!a.err && this.get(words[2] ?? '')?.state !== before) this.batchActions.push(words);
      return a;
    }
    throw new Error(`emulated virsh has no answer for batch command: ${command}`);
  }

  private uuids(pick: (d: FakeDomain) => boolean): string {
    return [...this.domains.values()]
      .filter(pick)
      .map((d) => `${d.uuid}\n`)
      .join('');
  }

  private action(words: readonly string[]): Answer {
    const [cmd, flag, id = '', ...rest] = words;
    if (flag !== '--domain') throw new Error(`emulated virsh has no answer for: ${words.join(' ')}`);
    if (cmd === 'domuuid') {
      const d = [...this.domains.values()].find((x) => x.name === id || x.uuid === id);
      return d ? { out: `${d.uuid}\n` } : this.gone(id);
    }
    const d = this.get(id);
    if (!d) return this.gone(id);
    const notRunning = (what: string) => ({ err: `error: Failed to ${what} domain '${id}'\nerror: Requested operation is not valid: domain is not running` });
    const stop = () => {
      d.state = 'shutoff';
      if (!d.persistent) this.domains.delete(d.uuid);
    };
    switch (cmd) {
      case 'domstate':
        expect(rest).toEqual(['--reason']);
        return { out: `${STATE_WORDS[d.state]}\n\n` };
      case 'dumpxml':
        for (const f of rest) expect(['--inactive', '--security-info']).toContain(f);
        return { out: domainXml(d, { inactive: rest.includes('--inactive') }) };
      case 'start':
        // virsh's own check, before it asks libvirt (virsh 9.0, qemu:///system)
        if (d.state !== 'shutoff') return { err: 'error: Domain is already active' };
        d.state = 'running';
        d.live = { ...d.config };
        if (d.configDisks) d.disks = d.configDisks;
        delete d.configDisks;
        return {};
      case 'shutdown':
        expect(rest).toEqual(['--mode', 'acpi']);
        if (d.state !== 'running') return notRunning('shutdown');
        if (!d.ignoresAcpi) stop();
        return {};
      case 'destroy':
        if (d.state === 'shutoff') return notRunning('destroy');
        stop();
        return {};
      case 'suspend':
        if (d.state === 'shutoff') return notRunning('suspend');
        d.state = 'paused';
        return {};
      case 'resume':
        if (d.state === 'shutoff') return notRunning('resume');
        if (d.state === 'running') return { err: `error: Failed to resume domain '${id}'\nerror: Requested operation is not valid: domain is already running` };
        d.state = 'running';
        return {};
      case 'setvcpus':
        return this.setvcpus(d, rest);
      case 'undefine': {
        const flags = new Set(rest);
        expect(flags.has('--nvram') && flags.has('--managed-save')).toBe(true);
        if (d.snapshots.length > 0 && !flags.has('--snapshots-metadata')) {
          return { err: `error: Failed to undefine domain '${id}'\nerror: Requested operation is not valid: cannot delete inactive domain with ${d.snapshots.length} snapshots` };
        }
        d.snapshots = [];
        if (d.state === 'shutoff') this.domains.delete(d.uuid);
        else d.persistent = false;
        return {};
      }
      default:
        throw new Error(`emulated virsh has no answer for: ${words.join(' ')}`);
    }
  }

  // Messages of the qemu driver (virsh-domain.ts quotes them).
  private setvcpus(d: FakeDomain, rest: readonly string[]): Answer {
    const [countFlag, count, ...flags] = rest;
    expect(countFlag).toBe('--count');
    const n = Number(count);
    const target = flags.join(' ');
    if (target === '--maximum --config') {
      d.config = { max: n, cur: Math.min(d.config.cur, n) };
      return {};
    }
    if (target === '--config') {
      if (n > d.config.max) return { err: `error: invalid argument: requested vcpus is greater than max allowable vcpus for the persistent domain: ${n} > ${d.config.max}` };
      d.config.cur = n;
      return {};
    }
    if (target === '--live') {
      if (d.state === 'shutoff') return { err: 'error: Requested operation is not valid: domain is not running' };
      if (n > d.live.max) return { err: `error: invalid argument: requested vcpus is greater than max allowable vcpus for the live domain: ${n} > ${d.live.max}` };
      d.live.cur = n;
      return {};
    }
    throw new Error(`emulated virsh: setvcpus ${rest.join(' ')}`);
  }

  /** `define --file PATH [--validate]`: a new domain is shut off and persistent; a shut-off one of the same UUID and name is replaced. */
  private define(args: readonly string[]): Answer {
    const [fileFlag, file = '', ...flags] = args;
    expect(fileFlag).toBe('--file');
    for (const f of flags) expect(['--validate']).toContain(f);
    let xml: string;
    try {
      xml = readFileSync(file, 'utf8');
    } catch {
      return { err: `error: Failed to read file '${file}' to define domain\nerror: Failed to open file '${file}': No such file or directory` };
    }
    const failed = (why: string) => ({ err: `error: Failed to define domain from ${file}\nerror: ${why}` });
    let facts;
    try {
      facts = parseDomainXml(xml);
    } catch (err) {
      return failed(`XML error: ${err instanceof Error ? err.message : String(err)}`);
    }
    const byName = [...this.domains.values()].find((x) => x.name === facts.name);
    if (byName && byName.uuid !== facts.uuid) return failed(`operation failed: domain '${facts.name}' already exists with uuid ${byName.uuid}`);
    const known = this.get(facts.uuid);
    if (known && known.name !== facts.name) return failed(`operation failed: domain '${known.name}' is already defined with uuid ${known.uuid}`);
    if (known && known.state !== 'shutoff') throw new Error('emulated virsh: redefining an active domain is not emulated');
    const disks = facts.disks.map((disk): FakeDisk => {
      if ((disk.device !== 'disk' && disk.device !== 'cdrom') || (disk.type !== 'file' && disk.type !== 'block') || !disk.source) {
        throw new Error(`emulated virsh: define of a ${disk.type} ${disk.device} without a source is not emulated`);
      }
      return {
        source: disk.source,
        device: disk.device,
        type: disk.type,
        target: disk.target,
        ...(disk.format ? { format: disk.format } : {}),
        ...(disk.bus ? { bus: disk.bus } : {}),
        ...(disk.readonly ? { readonly: true } : {}),
      };
    });
    const interfaces = facts.interfaces.map((nic): FakeInterface => {
      if (!nic.mac) throw new Error('emulated virsh: an interface without a MAC (libvirt would make one up) is not emulated');
      return { mac: nic.mac, ...(nic.network ? { network: nic.network } : {}), ...(nic.model ? { model: nic.model } : {}) };
    });
    const cpus = { max: facts.maxVcpus, cur: facts.vcpus };
    this.add({
      uuid: facts.uuid,
      name: facts.name,
      autostart: known?.autostart ?? false,
      snapshots: known?.snapshots ?? [],
      disks,
      interfaces,
      virtType: facts.virtType ?? 'qemu',
      config: cpus,
      live: { ...cpus },
      ...(facts.serialLog ? { serialLog: facts.serialLog } : {}),
    });
    this.defined.push(xml);
    return {};
  }

  /** `qemu-img convert -p -f F -O F [-c] [-S 0] SRC DST`, as qemuImgConvert builds it (both formats pinned). */
  readonly qemuImgConvert = async (argv: readonly string[], options: RunOptions): Promise<FakeOutcome> => {
    expect(argv.slice(0, 3)).toEqual(['qemu-img', 'convert', '-p']);
    const rest = argv.slice(3);
    const files: string[] = [];
    const opts = new Map<string, string>();
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i] ?? '';
      if (a === '-c') opts.set(a, '');
      else if (a === '-f' || a === '-O' || a === '-S') opts.set(a, rest[++i] ?? '');
      else if (a.startsWith('-')) throw new Error(`emulated qemu-img convert: unexpected ${a}`);
      else files.push(a);
    }
    const [source = '', target = ''] = files;
    expect(files).toHaveLength(2);
    expect(['qcow2', 'raw']).toContain(opts.get('-f'));
    expect(['qcow2', 'raw']).toContain(opts.get('-O'));
    if (opts.has('-S')) expect(opts.get('-S')).toBe('0');
    let data: Buffer;
    try {
      data = await readFile(source);
    } catch {
      return { exitCode: 1, stderr: `qemu-img: Could not open '${source}': Could not open '${source}': No such file or directory\n` };
    }
    const mode = this.convertMode;
    await writeFile(target, mode === 'copy' ? data : data.subarray(0, Math.ceil(data.length / 2)));
    this.onConvert?.(target);
    if (mode === 'fail') {
      return { exitCode: 1, stdout: '    (0.00/100%)\r', stderr: 'qemu-img: error while writing at byte 0: No space left on device\n' };
    }
    if (mode === 'hang') {
      // Progress goes out while it runs; it ends only when the run is aborted (killed).
      options.onStdout?.('    (0.00/100%)\r    (50.00/100%)\r');
      await untilAborted(options.signal);
      return { exitCode: null, signal: 'SIGTERM' };
    }
    return { stdout: '    (0.00/100%)\r    (50.00/100%)\r    (100.00/100%)\r' };
  };

  /** virt-install that defines and starts the domain its argv describes. */
  readonly virtInstall = (argv: readonly string[]): FakeOutcome => {
    this.defineFromVirtInstall(argv, 'running');
    return { stdout: '\nStarting install...\nCreating domain...\nDomain creation completed.\n' };
  };

  defineFromVirtInstall(argv: readonly string[], state: FakeState): FakeDomain {
    const opt = (flag: string) => {
      const i = argv.indexOf(flag);
      return i >= 0 ? argv[i + 1] : undefined;
    };
    const all = (flag: string) => argv.flatMap((a, i) => (a === flag && argv[i + 1] !== undefined ? [argv[i + 1] ?? ''] : []));
    const uuid = opt('--uuid');
    const name = opt('--name');
    if (!uuid || !name) throw new Error(`virt-install without --uuid/--name: ${argv.join(' ')}`);
    const [count = '1', ...cpuOpts] = (opt('--vcpus') ?? '1').split(',');
    const max = Number(cpuOpts.find((o) => o.startsWith('maxvcpus='))?.slice(9) ?? count);
    const disks: FakeDisk[] = all('--disk')
      .filter((v) => v !== 'none')
      .map((v) => ({ source: /(?:^|,)path=([^,]+)/.exec(v)?.[1] ?? '', format: /driver\.type=([^,]+)/.exec(v)?.[1] ?? 'raw' }));
    const cdrom = opt('--cdrom');
    if (cdrom) disks.push({ source: cdrom, device: 'cdrom', format: 'raw' });
    const serialLog = /log\.file=([^,]+)/.exec(opt('--serial') ?? '')?.[1];
    return this.add({
      uuid,
      name,
      state,
      autostart: argv.includes('--autostart'),
      disks,
      virtType: opt('--virt-type') ?? 'test',
      config: { max, cur: Number(count) },
      live: { max, cur: Number(count) },
      ...(serialLog ? { serialLog } : {}),
    });
  }
}

/** Resolves when the signal fires; never without one (a hung process nobody kills). */
function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) {
      resolve();
      return;
    }
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
