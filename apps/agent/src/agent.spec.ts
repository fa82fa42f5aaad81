import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobTypes } from '@virtfleet/contracts';
import { FakeRunner } from '@virtfleet/exec';
import pino from 'pino';
import { Agent } from './agent';
import { ApiClient } from './api-client';
import { loadAgentConfig } from './config/agent.config';
import { HostFactsCollector } from './host/host-facts';

describe('Agent', () => {
  let dir: string;
  let runner: FakeRunner;
  let agent: Agent;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vf-agent-'));
    const storageRoot = join(dir, 'store');
    const config = loadAgentConfig({
      VIRTFLEET_API_URL: 'http://127.0.0.1:9',
      VIRTFLEET_HOST_ID: '6f1c2b9e-3d4a-4c5b-9e8f-0a1b2c3d4e5f',
      VIRTFLEET_AGENT_TOKEN: 'vfa_0123456789abcdefghijklmnop',
      REDIS_URL: 'redis://127.0.0.1:9',
      VIRTFLEET_STORAGE_ROOT: storageRoot,
    });
    const log = pino({ enabled: false });
    runner = new FakeRunner();
    // Real collaborators that do nothing until called: constructing the agent must not touch them.
    agent = new Agent({
      config,
      runner,
      log,
      api: new ApiClient(config.apiUrl, config.agentToken, log),
      facts: new HostFactsCollector({
        libvirtUri: config.libvirtUri,
        storageRoot,
        kvmProbeTimeoutMs: config.kvmProbeTimeoutMs,
        agentVersion: '0.1.0-test',
      }),
    });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it.each(jobTypes)('has a handler for %s', (type) => {
    expect(typeof agent.handlers[type]).toBe('function');
  });

  it('has handlers for exactly the job types of the catalog', () => {
    expect(Object.keys(agent.handlers).sort()).toEqual([...jobTypes].sort());
  });

  it('runs nothing and writes nothing while being constructed', async () => {
    expect(runner.calls).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });
});
