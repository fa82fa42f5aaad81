import 'reflect-metadata';
import { Command, Option } from 'commander';
import pino from 'pino';
import { VIRTFLEET_VERSION } from '@virtfleet/contracts';
import { NodeCommandRunner } from '@virtfleet/exec';
import { Agent } from './agent';
import { ApiClient } from './api-client';
import { ConfigError, loadAgentConfig, loadHostConfig, toolEnvironment } from './config/agent.config';
import { doctorChecks, doctorReportOf, formatDoctor, gatherDoctorInput } from './host/doctor';
import { enroll } from './enroll';
import { HostFactsCollector } from './host/host-facts';
import { readTokens, simulate } from './simulate';

const AGENT_VERSION = VIRTFLEET_VERSION;
const DEFAULT_CONFIG = '/etc/virtfleet/agent.json';

async function run(configFile: string | undefined): Promise<number> {
  let config;
  try {
    config = loadAgentConfig({ ...process.env, ...(configFile ? { VIRTFLEET_AGENT_CONFIG: configFile } : {}) });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = pino({ name: 'virtfleet-agent', level: config.logLevel });
  const agent = new Agent({
    config,
    log,
    runner: new NodeCommandRunner({ baseEnv: toolEnvironment(process.env) }),
    api: new ApiClient(config.apiUrl, config.agentToken, log),
    facts: new HostFactsCollector({
      libvirtUri: config.libvirtUri,
      storageRoot: config.storageRoot,
      isoRoot: config.isoRoot,
      consoleLogDir: config.consoleLogDir,
      kvmProbeKernel: config.kvmProbeKernel,
      kvmProbeTimeoutMs: config.kvmProbeTimeoutMs,
      agentVersion: AGENT_VERSION,
      concurrency: { clone: config.cloneConcurrency },
    }),
  });
  await agent.start();
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, 'stopping');
      agent.stop().then(resolve, (err: Error) => {
        log.error({ err: err.message }, 'stop failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
}

function program(): Command {
  const cli = new Command('virtfleet-agent').description('The virtfleet host agent: serves this KVM host’s job queue.').version(AGENT_VERSION);
  cli
    .command('enroll')
    .description('Join a fleet with a one-time join token; writes this host’s credentials to the config file (0600).')
    .requiredOption('--api <url>', 'the virtfleet API, e.g. https://virtfleet.example:8080')
    .requiredOption('--token <token>', 'a join token (POST /v1/hosts/join-tokens, or `virtfleet hosts join-token`)')
    .option('--name <name>', 'host name (lowercase letters, digits, "-"); default: this machine’s short host name')
    .option('--labels <k=v,...>', 'labels, e.g. rack=r3,zone=a')
    .option('--storage-root <dir>', 'where this host keeps disks (default /var/lib/virtfleet/store)')
    .addOption(new Option('--config <file>', 'agent config file').env('VIRTFLEET_AGENT_CONFIG').default(DEFAULT_CONFIG))
    .addHelpText('after', '\nExample:\n  virtfleet-agent enroll --api http://10.0.0.5:8080 --token vfj_… --name kvm-07 --labels rack=r3\n  virtfleet-agent run')
    .action(async (o: { api: string; token: string; name?: string; labels?: string; storageRoot?: string; config: string }) => {
      const r = await enroll({ api: o.api, token: o.token, name: o.name, labels: o.labels, storageRoot: o.storageRoot, config: o.config });
      process.stdout.write(`enrolled as host ${r.name} (${r.hostId}); credentials in ${o.config}\nstart serving with: virtfleet-agent run --config ${o.config}\n`);
    });
  cli
    .command('doctor')
    .description('Check this host (KVM, libvirtd, tools, storage permissions, forwarding, SELinux/AppArmor); exits 1 on a failure.')
    .addOption(new Option('--config <file>', 'agent config file (optional: doctor works before enrolling)').env('VIRTFLEET_AGENT_CONFIG'))
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nEach check prints PASS, WARN or FAIL with a one-line fix. The agent sends the same report with its heartbeat (GET /v1/hosts/:id).')
    .action(async (o: { config?: string; json?: boolean }) => {
      const config = loadHostConfig({ ...process.env, ...(o.config ? { VIRTFLEET_AGENT_CONFIG: o.config } : {}) });
      const runner = new NodeCommandRunner({ baseEnv: toolEnvironment(process.env) });
      const exec = (cmd: Parameters<typeof runner.run>[0], opts?: Parameters<typeof runner.run>[1]) => runner.run(cmd, opts);
      const facts = await new HostFactsCollector({ ...config, agentVersion: AGENT_VERSION }).collect(exec);
      const report = doctorReportOf(doctorChecks(await gatherDoctorInput(facts, exec)));
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
      process.exitCode = report.checks.some((c) => c.status === 'fail') ? 1 : 0;
    });
  cli
    .command('run', { isDefault: true })
    .description('Serve this host’s queue (configuration: the config file and VIRTFLEET_* variables; see docs/operations.md).')
    .addOption(new Option('--config <file>', 'agent config file').env('VIRTFLEET_AGENT_CONFIG'))
    .action(async (o: { config?: string }) => {
      process.exitCode = await run(o.config);
    });
  cli
    .command('simulate')
    .description('Benchmarks only: serve many simulated hosts from this process (libvirt’s test driver domains, no commands run); see bench/fleet.ts.')
    .requiredOption('--api <url>', 'the virtfleet API')
    .requiredOption('--tokens <file>', 'join tokens, one a line: one simulated host each')
    .requiredOption('--dir <dir>', 'where the hosts’ config files and storage roots go')
    .requiredOption('--stats <file>', 'progress and heartbeat round trips, rewritten every 2 s (JSON)')
    .option('--prefix <name>', 'host names: <prefix>-<index>', 'sim')
    .option('--first <n>', 'index of the first host', '0')
    .option('--vms <n>', 'domains per host', '50')
    .option('--heartbeat-ms <ms>', 'heartbeat interval', '10000')
    .option('--inventory-ms <ms>', 'full inventory interval', '60000')
    .option('--ramp-ms <ms>', 'start the hosts spread over this long', '0')
    .action(async (o: { api: string; tokens: string; dir: string; stats: string; prefix: string; first: string; vms: string; heartbeatMs: string; inventoryMs: string; rampMs: string }) => {
      await simulate({
        api: o.api,
        tokens: await readTokens(o.tokens),
        dir: o.dir,
        statsFile: o.stats,
        prefix: o.prefix,
        first: Number(o.first),
        vms: Number(o.vms),
        heartbeatMs: Number(o.heartbeatMs),
        inventoryMs: Number(o.inventoryMs),
        rampMs: Number(o.rampMs),
        agentVersion: AGENT_VERSION,
        toolEnv: toolEnvironment(process.env),
      });
    });
  return cli;
}

program()
  .parseAsync(process.argv)
  .then(
    () => process.exit(process.exitCode ?? 0),
    (err: Error) => {
      process.stderr.write(`virtfleet-agent: ${err.message}\n`);
      process.exit(1);
    },
  );
