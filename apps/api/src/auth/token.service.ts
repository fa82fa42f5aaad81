import { readFile } from 'node:fs/promises';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PgService, utc } from '../db/pg.service';
import { PrismaService } from '../db/prisma.service';
import { hashToken, type Principal } from './tokens';

const CACHE_MS = 5_000;

@Injectable()
export class TokenService implements OnApplicationBootstrap {
  private readonly log = new Logger('TokenService');
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    private readonly db: PrismaService,
    private readonly pg: PgService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  /** The bootstrap admin token (from `npm run up`) is (re)registered at every boot. */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.adminTokenFile) return;
    const token = (await readFile(this.config.adminTokenFile, 'utf8')).trim();
    if (token.length < 20) throw new Error(`${this.config.adminTokenFile} does not hold a token`);
    const tokenHash = hashToken(token);
    await this.db.apiToken.upsert({
      where: { name: 'bootstrap-admin' },
      create: { name: 'bootstrap-admin', tokenHash, scopes: ['admin'] },
      update: { tokenHash, scopes: ['admin'], revokedAt: null },
    });
    this.log.log(`bootstrap admin token from ${this.config.adminTokenFile} registered`);
  }

  /** Drops cached look-ups (after a revoke or a rotation on this replica). */
  forget(): void {
    this.cache.clear();
  }

  async resolve(token: string): Promise<Principal | null> {
    const hash = hashToken(token);
    const hit = this.cache.get(hash);
    if (hit && hit.until > Date.now()) return hit.principal;
    const principal = await this.lookup(hash);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: Date.now() + CACHE_MS });
    return principal;
  }

  /**
   * Records that a token was used (ApiToken.lastUsedAt, to the minute): on a cache miss only, so at
   * most one write a token per replica every CACHE_MS, and none when the last one is under a
   * minute old. A failed write costs the request nothing.
   */
  private touch(id: string): void {
    const now = Date.now();
    this.pg
      .rows({
        name: 'token-touch',
        text: `UPDATE "ApiToken" SET "lastUsedAt" = $2 WHERE "id" = $1 AND ("lastUsedAt" IS NULL OR "lastUsedAt" < $3)`,
        values: [id, utc(new Date(now)), utc(new Date(now - 60_000))],
      })
      .catch((err: Error) => this.log.warn(`could not record the use of token ${id}: ${err.message}`));
  }

  /** An API token that is not revoked, or the agent token of a host that is not: one prepared statement (every agent request). */
  private async lookup(hash: string): Promise<Principal | null> {
    const [row] = await this.pg.rows<{ kind: 'user' | 'agent'; id: string; scopes: string[] | null }>({
      name: 'token-lookup',
      text: `SELECT 'user' AS "kind", "id"::text AS "id", "scopes" FROM "ApiToken" WHERE "tokenHash" = $1 AND "revokedAt" IS NULL
             UNION ALL
             SELECT 'agent', "id"::text, NULL FROM "Host" WHERE "agentTokenHash" = $1 AND "state" <> 'revoked'
             LIMIT 1`,
      values: [hash],
    });
    if (!row) return null;
    if (row.kind === 'user') this.touch(row.id);
    return row.kind === 'user' ? { kind: 'user', tokenId: row.id, scopes: row.scopes ?? [] } : { kind: 'agent', hostId: row.id };
  }
}
