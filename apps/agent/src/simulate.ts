import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Heartbeat, HeartbeatAnswer } from '@virtfleet/contracts';
import { NodeCommandRunner, type Command, type CommandResult, type CommandRunner } from '@virtfleet/exec';
import { collectInventory, type HostInventory } from '@virtfleet/libvirt';
import { Agent } from './agent';
import { ApiClient } from './api-client';
import { loadAgentConfig } from './config/agent.config';
import { enroll } from './enroll';
import { doctorChecks, doctorReportOf, gatherDoctorInput } from './host/doctor';
import { HostFactsCollector } from './host/host-facts';

// `virtfleet-agent simulate`: many hosts in one process, for the fleet benchmark (bench/fleet.ts).
// Each simulated host is the real Agent — enrolled with its own join token, its own agent token
// and Redis user, its own BullMQ worker, heartbeats, inventory reports and job reports over the
// API — but no command runs on its behalf: its domains are libvirt's test driver's, read once
// with real virsh at start and given to every host under its own names and UUIDs. Only jobs that
// run no command (noop) succeed on a simulated host; any other fails, saying why.

export interface SimulateOptions {
  api: string;
  /** One join token a line: one host each. */
  tokens: string[];
  /** Host names: <prefix>-<index>, index from `first`. */
  prefix: string;
  first: number;
  vms: number;
  heartbeatMs: number;
  inventoryMs: number;
  /** Hosts start spread over this long (a real fleet's heartbeats are not in step). */
  rampMs: number;
  /** Config files, storage roots and the test driver's node file go here. */
  dir: string;
  /** Progress and heartbeat round trips, rewritten every 2 s (JSON). */
  statsFile: string;
  agentVersion: string;
  /** The environment the real virsh read at start runs with (toolEnvironment). */
  toolEnv: NodeJS.ProcessEnv;
}

export interface SimulateStats {
  pid: number;
  hosts: number;
  started: number;
  failed: number;
  /** Why hosts did not start (the first few). */
  errors: string[];
  /** [epoch ms when the answer came, round trip ms] for the last few minutes. */
  heartbeats: Array<[number, number]>;
}

const HEARTBEAT_WINDOW_MS = 300_000;

/** Every command refused: a simulated host has no libvirt, only the inventory it was given. */
class NoCommands implements CommandRunner {
  async run(command: Command): Promise<CommandResult> {
    return {
      argv: [command.cmd, ...command.args],
      exitCode: null,
      signal: null,
      stdout: '',
      stderr: '',
      startedAt: new Date(),
      durationMs: 0,
      timedOut: false,
      aborted: false,
      spawnError: 'simulated host (virtfleet-agent simulate): no commands run here',
    };
  }
}

/** The real API client, timing each heartbeat's round trip (the host's state is written before the answer). */
class TimedApiClient extends ApiClient {
  constructor(
    apiUrl: string,
    token: string,
    log: Logger,
    private readonly record: (ms: number) => void,
  ) {
    super(apiUrl, token, log);
  }

  override async heartbeat(body: Heartbeat): Promise<HeartbeatAnswer> {
    const t0 = performance.now();
    const answer = await super.heartbeat(body);
    this.record(performance.now() - t0);
    return answer;
  }
}

/** libvirt's test driver with `vms` domains, two in three running, each with a qcow2 disk and a NIC. */
function testNode(vms: number): string {
  const domain = (i: number) => {
    const n = String(i).padStart(4, '0');
    return [
      `<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>simvm-${n}</name>`,
      `<uuid>00000000-0000-4000-8000-${String(i).padStart(12, '0')}</uuid><memory unit='MiB'>1024</memory><vcpu>2</vcpu><os><type>hvm</type></os><devices>`,
      `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/virtfleet/store/simvm-${n}.qcow2'/><target dev='vda' bus='virtio'/></disk>`,
      `<interface type='network'><mac address='52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}'/><source network='default'/><model type='virtio'/></interface>`,
      `</devices>${i % 3 === 0 ? '<test:runstate>5</test:runstate>' : ''}</domain>`,
    ].join('');
  };
  return `<?xml version="1.0"?><node>${Array.from({ length: vms }, (_, i) => domain(i)).join('')}</node>`;
}

/** The template's domains under one host's own names, UUIDs and MACs (the JSON text rewritten). */
function inventoryFor(template: string, hostIndex: number, hostName: string): HostInventory {
  const hex = hostIndex.toString(16).padStart(8, '0');
  const mac = `${hex.slice(4, 6)}:${hex.slice(6, 8)}`;
  return JSON.parse(
    template
      .replaceAll('00000000-0000-4000-8000-', `${hex}-0000-4000-8000-`)
      .replaceAll('simvm-', `${hostName}-vm-`)
      .replaceAll('52:54:00:00:', `52:54:${mac}:`),
  ) as HostInventory;
}

export async function simulate(o: SimulateOptions): Promise<void> {
  const log = pino({ name: 'virtfleet-agent-simulate', level: 'warn' });
  await mkdir(o.dir, { recursive: true });
  const node = join(o.dir, 'test-node.xml');
  await writeFile(node, testNode(o.vms));
  const uri = `test://${node}`;
  const runner = new NodeCommandRunner({ baseEnv: o.toolEnv });
  const exec = (cmd: Command, opts?: Parameters<typeof runner.run>[1]) => runner.run(cmd, opts);
  // Read once, for real: the test driver's domains, this machine's facts and the doctor's report.
  const template = JSON.stringify(await collectInventory(exec, uri));
  const facts = await new HostFactsCollector({ libvirtUri: uri, storageRoot: o.dir, agentVersion: o.agentVersion, kvmProbeTimeoutMs: 25_000 }).collect(exec);
  const doctor = doctorReportOf(doctorChecks(await gatherDoctorInput(facts, exec)));

  const stats: SimulateStats = { pid: process.pid, hosts: o.tokens.length, started: 0, failed: 0, errors: [], heartbeats: [] };
  const record = (ms: number) => stats.heartbeats.push([Date.now(), Math.round(ms * 100) / 100]);
  const writeStats = async () => {
    const cutoff = Date.now() - HEARTBEAT_WINDOW_MS;
    stats.heartbeats = stats.heartbeats.filter(([t]) => t >= cutoff);
    await writeFile(`${o.statsFile}.tmp`, JSON.stringify(stats));
    await rename(`${o.statsFile}.tmp`, o.statsFile);
  };
  const statsTimer = setInterval(() => void writeStats().catch(() => undefined), 2_000);

  const agents: Agent[] = [];
  const noCommands = new NoCommands();
  const startOne = async (token: string, k: number) => {
    const index = o.first + k;
    const name = `${o.prefix}-${index}`;
    const configFile = join(o.dir, `${name}.json`);
    const store = join(o.dir, name);
    await enroll({ api: o.api, token, name, config: configFile, storageRoot: store });
    const config = loadAgentConfig({
      VIRTFLEET_AGENT_CONFIG: configFile,
      LIBVIRT_DEFAULT_URI: uri,
      VIRTFLEET_ISO_ROOT: join(store, '.iso'),
      VIRTFLEET_CONSOLE_LOG_DIR: join(store, '.console'),
      VIRTFLEET_HEARTBEAT_INTERVAL_MS: String(o.heartbeatMs),
      VIRTFLEET_INVENTORY_INTERVAL_MS: String(o.inventoryMs),
      VIRTFLEET_SHUTDOWN_GRACE_MS: '2000',
      VIRTFLEET_LOG_LEVEL: 'warn',
    });
    const hostLog = log.child({ host: name });
    const inventory = inventoryFor(template, index, name);
    const agent = new Agent({
      config,
      log: hostLog,
      runner: noCommands,
      api: new TimedApiClient(config.apiUrl, config.agentToken, hostLog, record),
      facts: { collect: async () => ({ ...facts, storage: { ...facts.storage, root: store } }) },
      simulated: { doctor, inventory: () => inventory },
    });
    await agent.start();
    agents.push(agent);
    stats.started++;
  };
  const t0 = Date.now();
  await Promise.all(
    o.tokens.map(async (token, k) => {
      await new Promise((r) => setTimeout(r, (o.rampMs * k) / o.tokens.length));
      await startOne(token, k).catch((err: Error) => {
        stats.failed++;
        if (stats.errors.length < 5) stats.errors.push(`${o.prefix}-${o.first + k}: ${err.message}`);
        log.error({ err: err.message, host: `${o.prefix}-${o.first + k}` }, 'simulated host did not start');
      });
    }),
  );
  await writeStats();
  process.stderr.write(`simulate: ${stats.started} hosts serving (${stats.failed} failed) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  clearInterval(statsTimer);
  await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
}

/** Join tokens from a file, one a line. */
export async function readTokens(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}
