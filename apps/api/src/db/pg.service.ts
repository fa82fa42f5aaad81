import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Pool, types, type PoolClient, type QueryConfig, type QueryResultRow } from 'pg';
import { API_CONFIG, type ApiConfig } from '../config/api.config';

// The API's hot paths, straight to PostgreSQL with prepared statements on one `pg` pool: the
// job pipeline (JobSql), agent authentication, heartbeats and inventory reports. Through Prisma
// each statement costs ≈2.6–3.6 ms of API CPU (its query compiler runs per query); a prepared
// statement on `pg` ≈0.35 ms (bench/pipeline.ts, bench/fleet.ts, docs/performance.md).
// Everything else stays on Prisma. Rows read the way Prisma reads them: `timestamp(3)` columns
// hold UTC wall time (read as UTC whatever the process's zone), bigint as bigint, JSON parsed.

const TIMESTAMP = 1114; // timestamp without time zone
const INT8 = 20;
const parsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === TIMESTAMP) return (text: string) => new Date(`${text.replace(' ', 'T')}Z`);
    if (oid === INT8) return (text: string) => BigInt(text);
    return types.getTypeParser(oid, format);
  }) as typeof types.getTypeParser,
};

/** A Date as PostgreSQL's `timestamp(3)` holds Prisma's: the UTC wall time (the zone is ignored). */
export const utc = (d: Date): string => d.toISOString();

/** Raw SQL the way vm-store's statements take it: Prisma's `$queryRawUnsafe` or a `pg` transaction's. */
export interface RawSql {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
}

/** Raw statements by their text, prepared once per connection under a name of their own. */
const statementNames = new Map<string, string>();
function rawQuery(query: string, values: unknown[]): QueryConfig {
  let name = statementNames.get(query);
  if (!name) statementNames.set(query, (name = `raw-${statementNames.size}`));
  return { name, text: query, values: values.map((v) => (v instanceof Date ? utc(v) : v)) };
}

@Injectable()
export class PgService implements OnModuleDestroy, RawSql {
  private readonly pool: Pool;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    const url = new URL(config.databaseUrl);
    const schema = url.searchParams.get('schema');
    url.searchParams.delete('schema'); // Prisma's parameter, not PostgreSQL's
    this.pool = new Pool({
      connectionString: url.toString(),
      max: 8,
      types: parsers,
      ...(schema ? { options: `-c search_path=${schema.replace(/[^A-Za-z0-9_]/g, '')}` } : {}),
    });
    this.pool.on('error', () => undefined); // an idle client's connection dropped: the pool makes a new one
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.end();
  }

  /** One statement's rows; a lost connection is DatabaseUnavailableError (503). */
  async rows<T extends QueryResultRow>(q: QueryConfig): Promise<T[]> {
    try {
      return (await this.pool.query<T>(q)).rows;
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** vm-store's raw statements outside a transaction (Dates as UTC wall time, as Prisma passes them). */
  async $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T> {
    return (await this.rows(rawQuery(query, values))) as T;
  }

  /** BEGIN … COMMIT on one connection (ROLLBACK when `fn` throws). */
  async tx<T>(fn: (sql: PgTx) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    try {
      await client.query('BEGIN');
      const out = await fn(new PgTx(client));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw unavailable(err);
    } finally {
      client.release();
    }
  }
}

/** Statements inside one transaction. */
export class PgTx implements RawSql {
  constructor(private readonly client: PoolClient) {}

  async rows<T extends QueryResultRow>(q: QueryConfig): Promise<T[]> {
    return (await this.client.query<T>(q)).rows;
  }

  async $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T> {
    return (await this.client.query(rawQuery(query, values))).rows as T;
  }
}

/** PostgreSQL cannot be reached (answered 503 database_unavailable, as Prisma's P1001 is). */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`PostgreSQL is not reachable: ${(cause as Error).message}`, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

// PostgreSQL's connection-exception class 08, shutting down or starting (57P01-57P03), too many
// connections, and the socket's own errors.
const PG_UNAVAILABLE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

function unavailable(err: unknown): unknown {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const lost = PG_UNAVAILABLE.test(code) || SOCKET_ERRORS.has(code) || (typeof e?.message === 'string' && /^Connection terminated/.test(e.message));
  return lost && !(err instanceof DatabaseUnavailableError) ? new DatabaseUnavailableError(err) : err;
}

/** PostgreSQL's error code of a failed statement (pg errors carry it as `code`). */
export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
