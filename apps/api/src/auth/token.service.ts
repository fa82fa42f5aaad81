import { readFile } from 'node:fs/promises';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PrismaService } from '../db/prisma.service';
import { hashToken, type Principal } from './tokens';

const CACHE_MS = 5_000;

@Injectable()
export class TokenService implements OnApplicationBootstrap {
  private readonly log = new Logger('TokenService');
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    private readonly db: PrismaService,
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

  private async lookup(hash: string): Promise<Principal | null> {
    const api = await this.db.apiToken.findUnique({ where: { tokenHash: hash } });
    if (api && !api.revokedAt) return { kind: 'user', tokenId: api.id, scopes: api.scopes };
    const host = await this.db.host.findUnique({ where: { agentTokenHash: hash }, select: { id: true, state: true } });
    return host && host.state !== 'revoked' ? { kind: 'agent', hostId: host.id } : null;
  }
}
