import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Client } from 'pg';
import { API_CONFIG, type ApiConfig } from '../config/api.config';

/**
 * Leases for the API's background loops, so that with several replicas exactly one runs each
 * loop at a time (the dispatcher's outbox sweep, the reconciler). A lease is a PostgreSQL
 * session advisory lock on one connection of its own: PostgreSQL drops it the moment that
 * session ends, so a replica that dies (its socket closes, or TCP keepalives give up on a
 * machine that vanished: about 25 s) hands its leases to the next replica that asks, with no
 * expiry to tune and no clock to trust. Before each use the holder proves its session is alive
 * with a round trip; a replica that lost its connection holds nothing until it reconnects.
 */
@Injectable()
export class Leases implements OnModuleDestroy {
  private readonly log = new Logger('Leases');
  private client: Client | undefined;
  private connecting: Promise<Client | undefined> | undefined;
  private readonly held = new Set<string>();
  private closed = false;

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  /** Whether this replica holds `name` now (taking it if it is free). Never throws. */
  async holds(name: string): Promise<boolean> {
    const client = await this.connection();
    if (!client) return false;
    try {
      if (this.held.has(name)) {
        await client.query('SELECT 1'); // the session, and so the lock, is still there
        return true;
      }
      const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [`virtfleet:${name}`]);
      if (!r.rows[0]?.ok) return false;
      this.held.add(name);
      this.log.log(`this replica now runs ${name}`);
      return true;
    } catch (err) {
      this.drop(client, err as Error);
      return false;
    }
  }

  private connection(): Promise<Client | undefined> {
    if (this.client) return Promise.resolve(this.client);
    if (this.closed) return Promise.resolve(undefined);
    return (this.connecting ??= this.open().finally(() => (this.connecting = undefined)));
  }

  private async open(): Promise<Client | undefined> {
    const url = new URL(this.config.databaseUrl);
    url.searchParams.delete('schema'); // Prisma's parameter; advisory locks are per database
    const client = new Client({ connectionString: url.toString(), keepAlive: true, keepAliveInitialDelayMillis: 10_000, application_name: 'virtfleet-api leases' });
    client.on('error', (err) => this.drop(client, err));
    try {
      await client.connect();
      // The server side notices a vanished replica by keepalives as well: 10 s idle, 3 probes 5 s apart.
      await client.query('SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3');
    } catch (err) {
      this.log.warn(`lease connection failed: ${(err as Error).message}`);
      await client.end().catch(() => undefined);
      return undefined;
    }
    this.client = client;
    return client;
  }

  private drop(client: Client, err: Error): void {
    if (this.client !== client) return;
    if (this.held.size) this.log.warn(`lost leases ${[...this.held].join(', ')}: ${err.message}`);
    this.client = undefined;
    this.held.clear();
    void client.end().catch(() => undefined);
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    this.held.clear();
    await client?.end().catch(() => undefined); // the session ends: another replica takes over at its next pass
  }
}
