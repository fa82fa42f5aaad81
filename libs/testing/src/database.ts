import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { testServices } from './test-env';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A database of its own for one suite, copied from the migrated template (a few ms). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const s = testServices();
  const name = `vf_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: s.databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${s.templateDatabase}`);
  } finally {
    await admin.end();
  }
  const url = new URL(s.databaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: s.databaseUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
