import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { PrismaService } from '../db/prisma.service';
import { HostQueues } from '../queue/host-queues.service';

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly db: PrismaService,
    private readonly queues: HostQueues,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process answers' })
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({
    summary: 'Readiness: PostgreSQL answers (503 otherwise). Redis is reported but not required: jobs wait in the outbox while it is down.',
  })
  async readyz(@Res({ passthrough: true }) reply: FastifyReply) {
    const [postgres, redis] = await Promise.all([
      this.db.$queryRaw`SELECT 1`.then(
        () => true,
        () => false,
      ),
      this.queues.ping(),
    ]);
    const ready = postgres;
    void reply.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not_ready', checks: { postgres, redis } };
  }
}
