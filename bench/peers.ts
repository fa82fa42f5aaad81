import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, NodeCommandRunner, assertSucceeded } from '@virtfleet/exec';
import { Fleet, freePort, waitFor } from '@virtfleet/testing';
import type { Bench, BenchOptions, BenchOutput, Table, Target } from './lib/bench';
import { median, since, spread } from './lib/stats';
import { benchVm } from './lib/vm';

// The ways teams drive libvirt today, beside ours, on the same no-OS domain in the same run:
// `virsh` itself, `ssh root@host virsh …` (a new connection per operation, and multiplexed
// through a ControlMaster, as OpenNebula, MAAS virsh pods and scripts do), Ansible's
// community.libvirt.virt module (locally and over SSH), and a virtfleet job through the API.
// The SSH peers reach a private sshd on loopback, so the host's own sshd (if any) is untouched.

const runner = new NodeCommandRunner({ baseEnv: process.env });
const TIMEOUT_MS = 120_000;
const host = async (cmd: string, args: string[], env?: Record<string, string>) =>
  assertSucceeded(await runner.run({ cmd, args, ...(env ? { env } : {}) }, { timeoutMs: TIMEOUT_MS }));

const URI = 'qemu:///system';
const VM = 'bench-peers-vm';
// Debian's binaries, not whatever PATH finds first (PATH's python3 may be a pyenv one without libvirt).
const SSHD = '/usr/sbin/sshd';
const ANSIBLE = '/usr/bin/ansible';
const PYTHON = '/usr/bin/python3';

type Op = 'start' | 'destroy';
const OPS: readonly Op[] = ['start', 'destroy'];
/** What `virsh domstate` prints after each op. */
const STATE_AFTER: Record<Op, string> = { start: 'running', destroy: 'shut off' };
/** community.libvirt.virt's state for each op: running calls virDomainCreate, destroyed virDomainDestroy. */
const ANSIBLE_STATE: Record<Op, string> = { start: 'running', destroy: 'destroyed' };

interface Method {
  key: 'bare' | 'ssh' | 'mux' | 'ansible-local' | 'ansible-ssh' | 'ours';
  name: string;
  act(op: Op): Promise<void>;
}

/** A private sshd on a free loopback port, key auth only, and the client's key and options. */
interface Sshd {
  port: number;
  key: string;
  /** The options every plain ssh client call takes. */
  opts: string[];
  proc: ManagedProcess;
}

async function startSshd(dir: string): Promise<Sshd> {
  const port = await freePort();
  const hostKey = join(dir, 'host_ed25519');
  const key = join(dir, 'client_ed25519');
  const config = join(dir, 'sshd_config');
  await host('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench-peers-host', '-f', hostKey]);
  await host('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench-peers-client', '-f', key]);
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${key}.pub`), { mode: 0o600 });
  await writeFile(
    config,
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      // No PAM: a container's pam_loginuid fails logins, and key auth needs nothing from it.
      'UsePAM no',
      // The key files live under /tmp, which is world-writable: strict modes would refuse them.
      'StrictModes no',
      // bash runs ~/.bashrc for a command from sshd at shell level 1; at level 2 it does not. A dev
      // machine's root ~/.bashrc (here pyenv init: 0.13–0.27 s a call) would otherwise be timed
      // as ssh's cost. A server's stock root ~/.bashrc costs next to nothing, so this is the fair peer.
      'SetEnv SHLVL=1',
      // Debian's default: Ansible copies its module over SFTP.
      'Subsystem sftp /usr/lib/openssh/sftp-server',
      '',
    ].join('\n'),
  );
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
  await host(SSHD, ['-t', '-f', config]);
  const proc = ManagedProcess.start(SSHD, ['-D', '-e', '-f', config], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, logFile: join(dir, 'sshd.log') });
  const opts = ['-i', key, '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];
  const sshd: Sshd = { port, key, opts, proc };
  await waitFor(
    'the private sshd to let the key in',
    async () => {
      if (!proc.running) throw new Error(`sshd exited: ${await readFile(join(dir, 'sshd.log'), 'utf8')}`);
      return (await runner.run({ cmd: 'ssh', args: [...opts, 'root@127.0.0.1', 'true'] }, { timeoutMs: 10_000 })).exitCode === 0;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  return sshd;
}

/** The remote command: a string by nature, built from fixed words and the bench's own VM name. */
const remoteVirsh = (op: Op) => `virsh -c ${URI} ${op} ${VM}`;

/**
 * Ansible's environment: Debian's python (with python3-libvirt) for the module, JSON output to
 * check `changed`, and every file it writes (temp dirs, its ssh ControlPath sockets) under `dir`,
 * so nothing is left in /root. Its ssh_args stay the default (-C -o ControlMaster=auto
 * -o ControlPersist=60s); only the known-hosts file is added, for every ssh/sftp call it makes.
 */
function ansibleEnv(dir: string): Record<string, string> {
  return {
    HOME: join(dir, 'home'),
    ANSIBLE_HOME: join(dir, 'ansible'),
    ANSIBLE_LOCAL_TEMP: join(dir, 'ansible/tmp'),
    ANSIBLE_REMOTE_TEMP: join(dir, 'ansible/remote-tmp'),
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'ansible/cp'),
    ANSIBLE_SSH_COMMON_ARGS: '-o UserKnownHostsFile=/dev/null',
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_PYTHON_INTERPRETER: PYTHON,
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_LOAD_CALLBACK_PLUGINS: '1', // ad-hoc commands use the stdout callback below only with this
    ANSIBLE_STDOUT_CALLBACK: 'json',
  };
}

interface AnsibleJson {
  plays?: Array<{ tasks?: Array<{ hosts?: Record<string, { changed?: boolean; failed?: boolean; msg?: string }> }> }>;
}

/** One ad-hoc run of community.libvirt.virt; it must report `changed` (a no-op run is a failed measurement). */
async function ansible(op: Op, env: Record<string, string>, connection: string[]): Promise<void> {
  const args = ['all', '-i', '127.0.0.1,', ...connection, '-m', 'community.libvirt.virt', '-a', `name=${VM} state=${ANSIBLE_STATE[op]} uri=${URI}`];
  const r = await host(ANSIBLE, args, env);
  const result = (JSON.parse(r.stdout) as AnsibleJson).plays?.[0]?.tasks?.[0]?.hosts?.['127.0.0.1'];
  if (result?.changed !== true || result.failed) throw new Error(`ansible ${op} did not report a change: ${JSON.stringify(result ?? r.stdout)}`);
}

/** Closes the ssh ControlMaster behind a socket (ours, or one Ansible left persisting). */
async function closeMaster(sock: string): Promise<void> {
  await runner.run({ cmd: 'ssh', args: ['-S', sock, '-O', 'exit', '127.0.0.1'] }, { timeoutMs: 10_000 });
}

/**
 * Round `r` of a Williams design: a Latin square in which each method runs first once and, for an
 * even count, follows every other method exactly once; so no method always follows the same one.
 */
export function roundOrder(count: number, r: number): number[] {
  const first = Array.from({ length: count }, (_, i) => (i === 0 ? 0 : i % 2 === 1 ? (i + 1) / 2 : count - i / 2));
  return first.map((m) => (m + r) % count);
}

async function domstate(): Promise<string> {
  return (await host('virsh', ['-c', URI, 'domstate', VM])).stdout.trim();
}

export const peers: Bench = {
  name: 'peers',
  description:
    'Start and destroy of one no-OS domain the ways teams orchestrate today — bare virsh, `ssh root@127.0.0.1 virsh …` (plain and through a ControlMaster), Ansible’s community.libvirt.virt (local and over ssh) — and as a virtfleet job (submit → succeeded through the API), in rotating order in the same run.',
  async run({ smoke, log }: BenchOptions): Promise<BenchOutput> {
    const rounds = smoke ? 1 : 5;
    const dir = await mkdtemp(join(tmpdir(), 'vf-peers-'));
    const mux = join(dir, 'mux.sock');
    const aEnv = ansibleEnv(dir);
    let started: Fleet | undefined; // for the finally: Fleet.start may fail after mkdtemp
    let sshd: Sshd | undefined;
    try {
      const fleet = await Fleet.start({ name: 'bench-peers' });
      started = fleet;
      log('setup: a no-OS domain through the API, a private sshd on loopback, an ssh ControlMaster');
      await host('qemu-img', ['create', '-q', '-f', 'qcow2', join(fleet.storeRoot, 'bench-peers-disk.qcow2'), '1G']);
      const { action } = await benchVm(fleet, VM, 'bench-peers-disk');
      if ((await domstate()) !== STATE_AFTER.destroy) await action('destroy');

      sshd = await startSshd(dir);
      const ssh = sshd;
      // The master is opened once, untimed, as a multiplexing script's first call would.
      await host('ssh', ['-M', '-S', mux, '-o', 'ControlPersist=600', '-fN', ...ssh.opts, 'root@127.0.0.1']);
      const methods: Method[] = [
        { key: 'bare', name: 'bare `virsh`', act: async (op) => void (await host('virsh', ['-c', URI, op, VM])) },
        { key: 'ssh', name: '`ssh root@127.0.0.1 virsh`', act: async (op) => void (await host('ssh', [...ssh.opts, 'root@127.0.0.1', remoteVirsh(op)])) },
        {
          key: 'mux',
          name: '`ssh` through a ControlMaster',
          // No key and no pubkey auth: were the master gone, ssh could not quietly fall back to a new connection.
          act: async (op) =>
            void (await host('ssh', ['-S', mux, '-p', String(ssh.port), '-o', 'PubkeyAuthentication=no', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', 'root@127.0.0.1', remoteVirsh(op)])),
        },
        { key: 'ansible-local', name: 'Ansible `community.libvirt.virt`, `-c local`', act: (op) => ansible(op, aEnv, ['-c', 'local']) },
        {
          key: 'ansible-ssh',
          name: 'Ansible `community.libvirt.virt` over ssh',
          act: (op) => ansible(op, aEnv, ['-c', 'ssh', '-e', `ansible_port=${ssh.port}`, '-e', 'ansible_user=root', '--private-key', ssh.key]),
        },
        { key: 'ours', name: 'virtfleet job (API)', act: action },
      ];
      const times: Array<Record<Op, number[]>> = methods.map(() => ({ start: [], destroy: [] }));
      const timesOf = (m: number) => times[m] as Record<Op, number[]>;
      // Every op is checked, untimed: a method that silently does nothing fails the bench.
      const measure = async (m: number, keep: boolean) => {
        const method = methods[m] as Method;
        for (const op of OPS) {
          const t0 = performance.now();
          await method.act(op);
          const ms = since(t0);
          const state = await domstate();
          if (state !== STATE_AFTER[op]) throw new Error(`${method.name} ${op}: the domain is "${state}", not "${STATE_AFTER[op]}"`);
          if (keep) timesOf(m)[op].push(ms);
        }
      };
      if (!smoke) {
        // One untimed round: caches warm, and Ansible's own ssh master opens as its first run in a minute would.
        log('warm-up round');
        for (let m = 0; m < methods.length; m++) await measure(m, false);
      }
      for (let r = 0; r < rounds; r++) {
        log(`round ${r + 1} of ${rounds}`);
        for (const m of roundOrder(methods.length, r)) await measure(m, true);
      }

      const at = (key: Method['key']) => methods.findIndex((m) => m.key === key);
      const [BARE, MUX, OURS] = [at('bare'), at('mux'), at('ours')];
      /** Method m's median over the base method's, for one op. */
      const x = (m: number, op: Op, base = BARE) => median(timesOf(m)[op]) / median(timesOf(base)[op]);
      const table: Table = {
        title: `Start and destroy of one no-OS domain (ms, median and interquartile range of ${rounds} rounds in rotating order; × bare: median over bare virsh’s median)`,
        columns: ['method', 'start', '× bare', 'destroy', '× bare'],
        rows: methods.map((m, i) => [m.name, spread(timesOf(i).start, 'ms', 0), `${x(i, 'start').toFixed(2)}×`, spread(timesOf(i).destroy, 'ms', 0), `${x(i, 'destroy').toFixed(2)}×`]),
      };
      const targets: Target[] = OPS.flatMap((op) => {
        const vsBare = x(OURS, op);
        const vsMux = x(OURS, op, MUX);
        return [
          { what: `virtfleet ${op}-vm against bare virsh ${op}`, target: '≤ 1.10×', measured: `${vsBare.toFixed(2)}×`, met: vsBare <= 1.1 },
          { what: `virtfleet ${op}-vm against ssh through a ControlMaster (informational)`, target: '≤ 1.05×', measured: `${vsMux.toFixed(2)}×`, met: vsMux <= 1.05 },
        ];
      });
      return {
        tables: [table],
        targets,
        notes: [
          `Each measurement is a start then a destroy of the same domain by the same method; every op is checked afterwards with \`virsh domstate\` (untimed). Round r runs the methods in row r of a Williams design, so each runs first once and follows a different method each round${smoke ? '' : '; one untimed warm-up round comes first'}.`,
          'ssh: OpenSSH from Debian to a private sshd on 127.0.0.1 (ed25519 key, no PAM, root’s ~/.bashrc skipped through SHLVL: no dotfile time is counted), `virsh -c qemu:///system` as the remote command. Plain: a TCP connection, key exchange and login per op. ControlMaster: one master opened before the rounds (untimed); each op is a new session over it.',
          'Ansible: an ad-hoc `ansible all -i 127.0.0.1, -m community.libvirt.virt -a "name=… state=running|destroyed uri=qemu:///system"` per op (Debian’s ansible; the module calls virDomainCreate / virDomainDestroy through python3-libvirt). Each run must report changed. Over ssh it keeps Ansible’s default ssh_args (-C -o ControlMaster=auto -o ControlPersist=60s): its own master, opened by the first run and reused by the next ones within 60 s, so these runs are multiplexed too; pipelining is off (the default), so each run is five ssh calls over it (mkdir of a temp dir, SFTP of the module, chmod, python, rm).',
          'virtfleet: POST /v1/vms/:id/actions/start|destroy, then the job read back with ?wait= until it succeeded (the agent runs virsh on the host).',
        ],
      };
    } finally {
      await host('virsh', ['-c', URI, 'destroy', VM]).catch(() => undefined);
      await host('virsh', ['-c', URI, 'undefine', VM, '--snapshots-metadata']).catch(() => undefined);
      await closeMaster(mux).catch(() => undefined);
      const cp = aEnv['ANSIBLE_SSH_CONTROL_PATH_DIR'] as string;
      for (const sock of await readdir(cp).catch(() => [])) await closeMaster(join(cp, sock)).catch(() => undefined);
      await sshd?.proc.stop(10_000);
      await rm(dir, { recursive: true, force: true });
      await started?.stop();
    }
  },
};
