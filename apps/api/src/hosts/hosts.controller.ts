import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { actorOf, AuditService } from '../audit/audit.service';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/tokens';
import { ZodPipe } from '../common/zod.pipe';
import { hostSchema, toOpenApi } from '../openapi/schemas';
import { hostView } from './host.view';
import { EnrollmentService, joinTokenBody } from './enrollment.service';
import { HostsService } from './hosts.service';

const maintenanceBody = z.object({ enabled: z.boolean().default(true) });
const hostListQuery = z.object({ label: z.string().max(1000).optional() });

@ApiTags('hosts')
@ApiBearerAuth()
@Controller('v1/hosts')
export class HostsController {
  constructor(
    private readonly hosts: HostsService,
    private readonly enrollment: EnrollmentService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Hosts with state, facts, inventory (networks, pools) and last heartbeat' })
  @ApiQuery({ name: 'label', required: false, description: 'key=value[,key=value]: all must match' })
  @ApiResponse({ status: 200, schema: { type: 'object', properties: { items: { type: 'array', items: hostSchema } } } })
  async list(@Query(new ZodPipe(hostListQuery)) q: z.infer<typeof hostListQuery>) {
    return { items: (await this.hosts.list(q.label)).map(hostView) };
  }

  @Get(':id')
  @RequireScope('read')
  @ApiResponse({ status: 200, schema: hostSchema })
  async get(@Param('id', new ParseUUIDPipe()) id: string) {
    return hostView(await this.hosts.get(id));
  }

  @Post('join-tokens')
  @RequireScope('admin')
  @ApiOperation({
    summary: 'Make a one-time, expiring join token',
    description: 'A new host enrolls with it: virtfleet-agent enroll --api URL --token T --name N. Shown once.',
  })
  @ApiBody({ schema: toOpenApi(joinTokenBody, 'input') })
  async joinToken(@Body(new ZodPipe(joinTokenBody)) body: z.infer<typeof joinTokenBody>, @CurrentPrincipal() who: Principal) {
    return this.enrollment.joinToken(actorOf(who), body.ttlSeconds);
  }

  @Post(':id/maintenance')
  @HttpCode(200)
  @RequireScope('operate')
  @ApiOperation({ summary: 'Maintenance mode on or off: no new placements on the host; what runs is not touched' })
  @ApiBody({ schema: toOpenApi(maintenanceBody, 'input') })
  async maintenance(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body(new ZodPipe(maintenanceBody)) body: z.infer<typeof maintenanceBody>,
    @CurrentPrincipal() who: Principal,
  ) {
    const host = await this.hosts.setMaintenance(id, body.enabled);
    await this.audit.record(actorOf(who), body.enabled ? 'host.maintenance.on' : 'host.maintenance.off', `host:${id}`);
    return hostView(host);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('admin')
  @ApiOperation({ summary: "Revoke a host: its agent token stops working and its Redis user is deleted; its history stays" })
  async revoke(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() who: Principal) {
    await this.enrollment.revoke(id, actorOf(who));
  }
}
