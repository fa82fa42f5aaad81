import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { NodeCommandRunner } from '@virtfleet/exec';
import { REPO_ROOT } from '@virtfleet/testing';

// The deployment files (docs/deploy.md). No Docker engine or systemd runs here, so what can be
// checked is checked: the compose file against a real compose validator (client-side, no engine),
// its services and Redis' settings, and that every image's and the unit's entrypoint is the
// command the tests and `npm run up` run, on files the build makes.

const read = (f: string) => readFile(join(REPO_ROOT, f), 'utf8');
const runner = new NodeCommandRunner({ baseEnv: process.env });

// For the compose validator: COMPOSE_* in the caller's environment (COMPOSE_FILE, COMPOSE_PROFILES,
// …) would change what is validated. Runs argv, never a shell string (@virtfleet/exec: spawn, shell off).
const composeRunner = new NodeCommandRunner({
  baseEnv: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMPOSE_'))),
});
const execRun = (cmd: string, args: string[]) => composeRunner.run({ cmd, args, timeoutMs: 60_000 });

/**
 * The compose validator: the docker compose plugin where it exists, else Debian's docker-compose
 * 1.29 (scripts/ensure-deps.sh installs it). `config` parses, checks against the compose schema and
 * interpolates, all client-side: no Docker engine is needed.
 */
async function composeCommand(): Promise<string[]> {
  if ((await execRun('docker', ['compose', 'version'])).exitCode === 0) return ['docker', 'compose'];
  if ((await execRun('docker-compose', ['version'])).exitCode === 0) return ['docker-compose'];
  throw new Error('neither `docker compose` nor `docker-compose` runs here: scripts/ensure-deps.sh installs docker-compose');
}

/** Per build stage of a Dockerfile: its USER, CMD and ENTRYPOINT (exec form). */
function stages(dockerfile: string): Map<string, { user?: string; cmd?: string[]; entrypoint?: string[] }> {
  const out = new Map<string, { user?: string; cmd?: string[]; entrypoint?: string[] }>();
  let current: { user?: string; cmd?: string[]; entrypoint?: string[] } | undefined;
  for (const line of dockerfile.split('\n')) {
    const from = /^FROM \S+ AS (\S+)$/.exec(line);
    if (from) out.set(from[1] as string, (current = {}));
    const [, word, rest] = /^(USER|CMD|ENTRYPOINT) (.+)$/.exec(line) ?? [];
    if (!current || !word || !rest) continue;
    if (word === 'USER') current.user = rest;
    else current[word === 'CMD' ? 'cmd' : 'entrypoint'] = JSON.parse(rest) as string[];
  }
  return out;
}

describe('deployment files', () => {
  it('docker-compose.yml: PostgreSQL, Redis with AOF and noeviction, migrations before the API, an agent profile', async () => {
    const compose = parse(await read('docker-compose.yml'), { merge: true }) as {
      services: Record<string, { command?: string[]; depends_on?: Record<string, { condition: string }>; profiles?: string[]; volumes?: string[]; build?: { target?: string; dockerfile?: string } }>;
    };
    const s = compose.services;
    expect(Object.keys(s).sort()).toEqual(['agent', 'api', 'migrate', 'postgres', 'redis']);
    const redis = (s['redis']?.command ?? []).join(' ');
    expect(redis).toContain('--maxmemory-policy noeviction');
    expect(redis).toContain('--appendonly yes');
    expect(s['api']?.depends_on?.['migrate']?.condition).toBe('service_completed_successfully');
    expect(s['migrate']?.depends_on?.['postgres']?.condition).toBe('service_healthy');
    for (const [name, target] of [['migrate', 'migrate'], ['api', 'api'], ['agent', 'agent']] as const) {
      expect(s[name]?.build).toEqual({ context: '.', dockerfile: 'deploy/Dockerfile', target });
    }
    expect(s['agent']?.profiles).toEqual(['agent']);
    expect(s['agent']?.volumes).toContain('/var/run/libvirt:/var/run/libvirt');
    expect(s['agent']?.command).toEqual(['run']);
  });

  it('docker-compose.yml passes `docker compose config` (with and without the agent profile); a broken copy does not', async () => {
    const [cmd, ...pre] = await composeCommand();
    const compose = (file: string, ...args: string[]) => execRun(cmd as string, [...pre, '-f', file, ...args]);
    const file = join(REPO_ROOT, 'docker-compose.yml');
    for (const args of [['config', '-q'], ['--profile', 'agent', 'config', '-q']]) {
      const r = await compose(file, ...args);
      expect({ args, exitCode: r.exitCode, stderr: r.stderr }).toEqual({ args, exitCode: 0, stderr: '' });
    }
    const services = await compose(file, '--profile', 'agent', 'config', '--services');
    expect(services.exitCode).toBe(0);
    expect(services.stdout.split('\n').filter(Boolean).sort()).toEqual(['agent', 'api', 'migrate', 'postgres', 'redis']);

    // A real validator: the same file in another folder passes, and with an unknown key under a
    // service it fails, naming the key.
    const text = await read('docker-compose.yml');
    const broken = text.replace('\n  api:\n', '\n  api:\n    bogus_key: 1\n');
    expect(broken).not.toBe(text);
    const dir = await mkdtemp(join(tmpdir(), 'virtfleet-compose-'));
    try {
      await writeFile(join(dir, 'good.yml'), text);
      await writeFile(join(dir, 'broken.yml'), broken);
      expect((await compose(join(dir, 'good.yml'), 'config', '-q')).exitCode).toBe(0);
      const bad = await compose(join(dir, 'broken.yml'), 'config', '-q');
      expect(bad.exitCode).not.toBe(0);
      expect(bad.exitCode).not.toBeNull(); // it exited by itself, not killed or never started
      expect(bad.stderr).toContain('bogus_key');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('the images run what the tests run, as an unprivileged user, on files the build makes', async () => {
    const st = stages(await read('deploy/Dockerfile'));
    // libs/testing's global setup migrates with node_modules/.bin/prisma migrate deploy
    expect(st.get('migrate')?.cmd).toEqual(['node_modules/.bin/prisma', 'migrate', 'deploy']);
    // Fleet (libs/testing) and npm run up start dist/apps/{api,agent}/src/main.js
    expect(st.get('api')?.cmd).toEqual(['node', '--enable-source-maps', 'dist/apps/api/src/main.js']);
    expect(st.get('agent')?.entrypoint).toEqual(['tini', '--', 'node', '--enable-source-maps', 'dist/apps/agent/src/main.js']);
    expect(st.get('agent')?.cmd).toEqual(['run']);
    for (const image of ['migrate', 'api', 'agent']) expect(st.get(image)?.user).toBe('node');
    for (const f of ['dist/apps/api/src/main.js', 'dist/apps/agent/src/main.js', 'node_modules/.bin/prisma']) expect(existsSync(join(REPO_ROOT, f))).toBe(true);
  });

  it('the systemd unit runs the agent as its own user after libvirtd', async () => {
    const unit = await read('deploy/virtfleet-agent.service');
    expect(unit).toMatch(/^User=virtfleet$/m);
    expect(unit).toMatch(/^SupplementaryGroups=libvirt kvm$/m);
    expect(unit).toMatch(/^After=.*libvirtd\.service/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node --enable-source-maps \/opt\/virtfleet\/dist\/apps\/agent\/src\/main\.js run$/m);
  });

  it('install-agent.sh: --dry-run prints its steps; without a token it refuses', async () => {
    const script = join(REPO_ROOT, 'deploy/install-agent.sh');
    const dry = await runner.run({ cmd: 'bash', args: [script, '--dry-run', '--api', 'http://127.0.0.1:8080', '--token', 'vfj_test', '--name', 'kvm-07'] });
    expect(dry.stderr).toBe('');
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain('+ runuser -u virtfleet -- node /opt/virtfleet/dist/apps/agent/src/main.js enroll --api http://127.0.0.1:8080 --token vfj_test');
    expect(dry.stdout).toContain('+ systemctl enable --now virtfleet-agent.service');
    const refused = await runner.run({ cmd: 'bash', args: [script, '--dry-run', '--api', 'http://127.0.0.1:8080'] });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('--api and --token are required');
  });
});
