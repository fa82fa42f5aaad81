import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadAgentConfig, toolEnvironment } from './agent.config';

const HOST_ID = '6f1c2b9e-3d4a-4c5b-9e8f-0a1b2c3d4e5f';
const TOKEN = 'vfa_0123456789abcdefghijklmnop';

/** The least an agent needs: where the API and Redis are, who it is. */
const minimal: NodeJS.ProcessEnv = {
  VIRTFLEET_API_URL: 'http://127.0.0.1:3000',
  VIRTFLEET_HOST_ID: HOST_ID,
  VIRTFLEET_AGENT_TOKEN: TOKEN,
  REDIS_URL: 'redis://127.0.0.1:6379',
};

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadAgentConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadAgentConfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vf-agent-config-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function configFile(content: unknown): Promise<string> {
    const file = join(dir, 'agent.json');
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  }

  it('fills in the defaults', () => {
    expect(loadAgentConfig(minimal)).toEqual({
      apiUrl: 'http://127.0.0.1:3000',
      hostId: HOST_ID,
      agentToken: TOKEN,
      redisUrl: 'redis://127.0.0.1:6379',
      libvirtUri: 'qemu:///system',
      lockDurationMs: 30000,
      maxStalledCount: 5,
      stalledIntervalMs: 30000,
      storageRoot: '/var/lib/virtfleet/store',
      concurrency: 4,
      cloneConcurrency: 2,
      consoleLogDir: '/var/lib/virtfleet/console',
      inventoryIntervalMs: 60_000,
      isoRoot: '/var/lib/virtfleet/iso',
      maxImageSizeGiB: 65536,
      heartbeatIntervalMs: 10_000,
      kvmProbeTimeoutMs: 25_000,
      shutdownGraceMs: 30_000,
      logLevel: 'info',
    });
  });

  it('reads every field from the environment, numbers included', () => {
    const config = loadAgentConfig({
      ...minimal,
      LIBVIRT_DEFAULT_URI: 'qemu:///session',
      VIRTFLEET_STORAGE_ROOT: '/kvm/store',
      VIRTFLEET_AGENT_CONCURRENCY: '8',
      VIRTFLEET_HEARTBEAT_INTERVAL_MS: '500',
      VIRTFLEET_KVM_PROBE_KERNEL: '/boot/vmlinuz-6.1.0-56-amd64',
      VIRTFLEET_KVM_PROBE_TIMEOUT_MS: '5000',
      VIRTFLEET_SHUTDOWN_GRACE_MS: '0',
      VIRTFLEET_LOG_LEVEL: 'debug',
    });

    expect(config).toMatchObject({
      libvirtUri: 'qemu:///session',
      storageRoot: '/kvm/store',
      concurrency: 8,
      heartbeatIntervalMs: 500,
      kvmProbeKernel: '/boot/vmlinuz-6.1.0-56-amd64',
      kvmProbeTimeoutMs: 5000,
      shutdownGraceMs: 0,
      logLevel: 'debug',
    });
  });

  it('reads the JSON file, and the environment wins over it', async () => {
    const file = await configFile({
      apiUrl: 'https://api.fleet.example',
      hostId: HOST_ID,
      agentToken: 'file-token-0123456789abcdef',
      redisUrl: 'rediss://redis.fleet.example:6380',
      storageRoot: '/kvm/store',
      concurrency: 2,
    });

    const fromFile = loadAgentConfig({ VIRTFLEET_AGENT_CONFIG: file });
    const overridden = loadAgentConfig({
      VIRTFLEET_AGENT_CONFIG: file,
      VIRTFLEET_AGENT_TOKEN: TOKEN,
      VIRTFLEET_AGENT_CONCURRENCY: '16',
    });

    expect(fromFile).toMatchObject({
      apiUrl: 'https://api.fleet.example',
      agentToken: 'file-token-0123456789abcdef',
      redisUrl: 'rediss://redis.fleet.example:6380',
      storageRoot: '/kvm/store',
      concurrency: 2,
    });
    expect(overridden).toMatchObject({ apiUrl: 'https://api.fleet.example', agentToken: TOKEN, concurrency: 16, storageRoot: '/kvm/store' });
  });

  it('ignores empty environment variables', async () => {
    const file = await configFile({ storageRoot: '/kvm/store' });

    expect(loadAgentConfig({ ...minimal, VIRTFLEET_AGENT_CONFIG: file, VIRTFLEET_STORAGE_ROOT: '' }).storageRoot).toBe('/kvm/store');
  });

  it('refuses a host id that is not a UUID, naming the field', () => {
    const err = configError({ ...minimal, VIRTFLEET_HOST_ID: 'kvm1' });
    expect(err.message).toMatch(/^invalid agent configuration:\n {2}hostId: /);
  });

  it('refuses a missing token, naming the field', () => {
    const env = { ...minimal };
    delete env['VIRTFLEET_AGENT_TOKEN'];
    const err = configError(env);
    expect(err.message).toMatch(/\n {2}agentToken: /);
    expect(err.message).not.toMatch(/hostId|apiUrl|redisUrl/);
  });

  it('refuses a short token', () => {
    expect(configError({ ...minimal, VIRTFLEET_AGENT_TOKEN: 'short' }).message).toMatch(/agentToken: /);
  });

  it('names every bad field at once', () => {
    const err = configError({
      ...minimal,
      REDIS_URL: 'http://127.0.0.1:6379',
      VIRTFLEET_STORAGE_ROOT: 'relative/store',
      VIRTFLEET_AGENT_CONCURRENCY: 'lots',
    });
    expect(err.message).toContain('redisUrl: must be redis://host:port, rediss://…, redis-sentinel://h1:p1,h2:p2/<master> or redis-cluster://h1:p1,h2:p2');
    expect(err.message).toMatch(/storageRoot: /);
    expect(err.message).toMatch(/concurrency: /);
  });

  it('says which config file it cannot read', () => {
    const missing = join(dir, 'missing.json');
    expect(configError({ ...minimal, VIRTFLEET_AGENT_CONFIG: missing }).message).toMatch(
      new RegExp(`^cannot read agent config ${missing}: ENOENT`),
    );
  });

  it('says which config file is not JSON', async () => {
    const file = await configFile('{ apiUrl: nope');
    expect(configError({ ...minimal, VIRTFLEET_AGENT_CONFIG: file }).message).toMatch(new RegExp(`^cannot read agent config ${file}: `));
  });
});

describe('toolEnvironment', () => {
  it('passes the agent environment on as a copy', () => {
    const env = { PATH: '/usr/bin', LIBVIRT_DEFAULT_URI: 'qemu:///system' };
    const out = toolEnvironment(env);
    expect(out).toEqual(env);
    expect(out).not.toBe(env);
  });
});
