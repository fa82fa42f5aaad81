import 'reflect-metadata';
import pino from 'pino';
import { NodeCommandRunner } from '@virtfleet/exec';
import { Agent } from './agent';
import { ApiClient } from './api-client';
import { ConfigError, loadAgentConfig, toolEnvironment } from './config/agent.config';
import { HostFactsCollector } from './host/host-facts';

const AGENT_VERSION = '0.1.0';
const USAGE = `usage: virtfleet-agent run

Serves this host's job queue. Configuration: VIRTFLEET_AGENT_CONFIG (JSON file) and environment
variables (VIRTFLEET_API_URL, VIRTFLEET_HOST_ID, VIRTFLEET_AGENT_TOKEN, REDIS_URL, ...); see docs/agent.md.`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'run';
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command !== 'run') {
    process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadAgentConfig(process.env);
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
      kvmProbeKernel: config.kvmProbeKernel,
      kvmProbeTimeoutMs: config.kvmProbeTimeoutMs,
      agentVersion: AGENT_VERSION,
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`virtfleet-agent: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
