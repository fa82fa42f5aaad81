import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { NodeCommandRunner, assertSucceeded } from '@virtfleet/exec';
import { REPO_ROOT } from './paths';
import { dropStalePools } from './fleet';
import { freePort } from './ports';
import { parseEnvLines, services } from './services';
import { exportTestServices } from './test-env';

const TEMPLATE = 'vf_template';

/**
 * Starts real PostgreSQL and Redis for this test run (and libvirtd, if it is not running) in a
 * fresh folder on free ports, and migrates a template database that each suite copies.
 */
export default async function globalSetup(): Promise<void> {
  const t0 = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'virtfleet-test-'));
  await chmod(dir, 0o755); // postgres and qemu (other users) must traverse it
  const [pgPort, redisPort] = [await freePort(), await freePort()];
  await services('start', '--dir', dir, '--pg-port', String(pgPort), '--redis-port', String(redisPort), '--fast');
  await dropStalePools();
  const env = parseEnvLines(await services('env', '--dir', dir));
  const databaseUrl = env['DATABASE_URL'];
  const redisUrl = env['REDIS_URL'];
  if (!databaseUrl || !redisUrl) throw new Error('services.sh env printed no URLs');

  const admin = new Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  await admin.end();
  const templateUrl = new URL(databaseUrl);
  templateUrl.pathname = `/${TEMPLATE}`;
  const runner = new NodeCommandRunner({ baseEnv: { ...process.env, DATABASE_URL: templateUrl.toString(), CHECKPOINT_DISABLE: '1' } });
  assertSucceeded(
    await runner.run({ cmd: join(REPO_ROOT, 'node_modules/.bin/prisma'), args: ['migrate', 'deploy'] }, { timeoutMs: 120_000 }),
  );
  exportTestServices({ dir, databaseUrl, templateDatabase: TEMPLATE, redisUrl });
  process.stderr.write(`\ntest services up in ${Date.now() - t0} ms (${dir})\n`);
}
