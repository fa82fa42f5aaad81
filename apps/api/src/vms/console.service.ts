import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { consoleChannels } from '@virtfleet/contracts';
import { connectRedis, type RedisConnection } from '@virtfleet/redis';
import type { WebSocket } from 'ws';
import { actorOf, AuditService } from '../audit/audit.service';
import { TokenService } from '../auth/token.service';
import { scopeAllows } from '../auth/tokens';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PrismaService } from '../db/prisma.service';

/** WebSocket close codes this route uses (4xxx: application codes, like HTTP's). */
const CLOSE = { unauthorized: 4401, forbidden: 4403, notFound: 4404, conflict: 4409, hostGone: 4502, hostSilent: 4504 } as const;
/** How long the host's agent has to open the console before the client is told it did not. */
const OPEN_TIMEOUT_MS = 10_000;

/**
 * GET /v1/vms/:id/console (WebSocket): the domain's serial console through its host's agent
 * (virsh console, fleet-wide). The agent answers with the console log's recent tail, then live
 * bytes; what the client sends goes to the guest. Needs an operate token (header or ?token=).
 */
@Injectable()
export class ConsoleService implements OnModuleDestroy {
  private readonly log = new Logger('Console');
  private publisher: RedisConnection | undefined;

  constructor(
    private readonly db: PrismaService,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async attach(socket: WebSocket, vmId: string, token: string | undefined): Promise<void> {
    const who = token ? await this.tokens.resolve(token) : null;
    if (!who) return socket.close(CLOSE.unauthorized, 'a token is required (Authorization: Bearer, or ?token=)');
    if (who.kind !== 'user' || !scopeAllows(who.scopes, 'operate')) return socket.close(CLOSE.forbidden, 'the console needs the operate scope');
    const vm = /^[0-9a-f-]{36}$/i.test(vmId) ? await this.db.vm.findUnique({ where: { id: vmId } }) : null;
    if (!vm) return socket.close(CLOSE.notFound, `no VM ${vmId}`);
    if (vm.status !== 'managed') return socket.close(CLOSE.conflict, `${vm.name} is ${vm.status}`);

    const session = randomUUID();
    const ch = consoleChannels(vm.hostId, session);
    const pub = (this.publisher ??= connectRedis(this.config.redisUrl, { maxRetriesPerRequest: null }));
    const sub = connectRedis(this.config.redisUrl, { maxRetriesPerRequest: null });
    sub.on('error', () => undefined);
    const silent = setTimeout(() => socket.close(CLOSE.hostSilent, `the agent of ${vm.name}'s host did not open the console`), OPEN_TIMEOUT_MS);
    sub.on('messageBuffer', (channel: Buffer, data: Buffer) => {
      if (channel.toString() === ch.state) {
        const state = data.toString();
        if (state === 'open') clearTimeout(silent);
        else socket.close(CLOSE.hostGone, state.slice(0, 120));
        return;
      }
      if (socket.readyState === socket.OPEN) socket.send(data);
    });
    await sub.subscribe(ch.out, ch.state);
    socket.on('message', (data: Buffer) => void pub.publish(ch.in, data).catch(() => undefined));
    socket.on('close', () => {
      clearTimeout(silent);
      void pub.publish(ch.ctl, JSON.stringify({ op: 'close', session })).catch(() => undefined);
      sub.disconnect();
    });
    await pub.publish(ch.ctl, JSON.stringify({ op: 'open', session, uuid: vm.uuid }));
    await this.audit.record(actorOf(who), 'vm.console', `vm:${vm.id}`, { session, name: vm.name });
    this.log.log(`console of ${vm.name} opened (session ${session})`);
  }

  onModuleDestroy(): void {
    this.publisher?.disconnect();
  }
}
