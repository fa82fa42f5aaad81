import { Body, Controller, Delete, Get, Headers, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { jobCatalog, networkInventory } from '@virtfleet/contracts';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../audit/audit.service';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/tokens';
import { accepted, checkedIdempotencyKey } from '../common/accepted';
import { ApiError } from '../common/api-error';
import { ZodPipe } from '../common/zod.pipe';
import { errorSchema, jobSchema, toOpenApi } from '../openapi/schemas';
import { defineNetworkBody, listNetworksQuery, NETWORK_ACTIONS, NetworksService, type DefineNetworkBody, type NetworkAction } from './networks.service';

const networkSchema = {
  allOf: [toOpenApi(networkInventory), { type: 'object', properties: { hostId: { type: 'string', format: 'uuid' }, hostName: { type: 'string' } } }],
};
const actionName = z.enum(Object.keys(NETWORK_ACTIONS) as [NetworkAction, ...NetworkAction[]]);
const undefineQuery = z.object({ force: z.enum(['true', 'false']).default('false').transform((v) => v === 'true') });

@ApiTags('networks')
@ApiBearerAuth()
@Controller()
export class NetworksController {
  constructor(private readonly networks: NetworksService) {}

  @Get('v1/networks')
  @RequireScope('read')
  @ApiOperation({ summary: "Every host's libvirt networks (virsh net-list --all): active, autostart, persistent, bridge, forward mode, address, DHCP leases" })
  @ApiQuery({ name: 'hostId', required: false })
  @ApiQuery({ name: 'name', required: false })
  @ApiResponse({ status: 200, schema: { type: 'object', properties: { items: { type: 'array', items: networkSchema } } } })
  async list(@Query(new ZodPipe(listNetworksQuery)) q: z.infer<typeof listNetworksQuery>) {
    return { items: await this.networks.list(q) };
  }

  @Get('v1/hosts/:hostId/networks/:name')
  @RequireScope('read')
  @ApiResponse({ status: 200, schema: networkSchema })
  async get(@Param('hostId', new ParseUUIDPipe()) hostId: string, @Param('name') name: string) {
    return this.networks.get(hostId, name);
  }

  @Post('v1/networks')
  @RequireScope('operate')
  @ApiOperation({
    summary: 'Define a network (job define-network): nat, isolated, bridge (an existing Linux bridge) or ovs (an existing Open vSwitch bridge)',
    description:
      'On one host (hostId), or on every host whose labels match hostSelector: then the answer is a parent job with one define-network child per host. The network XML is generated from the validated fields. start and autostart default to true.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiBody({ schema: toOpenApi(defineNetworkBody, 'input') })
  @ApiResponse({ status: 202, schema: jobSchema })
  @ApiResponse({ status: 409, description: 'no host matches the selector', schema: errorSchema })
  async define(
    @Body(new ZodPipe(defineNetworkBody)) body: DefineNetworkBody,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.networks.define(body, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Post('v1/hosts/:hostId/networks/:name/actions/:action')
  @RequireScope('operate')
  @ApiOperation({
    summary: 'start (net-start), stop (net-destroy), set-autostart {"enabled": bool} (net-autostart)',
    description: Object.entries(NETWORK_ACTIONS).map(([a, t]) => `**${a}** (job ${t}): ${jobCatalog[t].summary}`).join('\n\n'),
  })
  @ApiParam({ name: 'action', enum: Object.keys(NETWORK_ACTIONS) })
  @ApiResponse({ status: 202, schema: jobSchema })
  @ApiResponse({ status: 404, description: 'no such host, or the host reported no such network', schema: errorSchema })
  async action(
    @Param('hostId', new ParseUUIDPipe()) hostId: string,
    @Param('name') name: string,
    @Param('action', new ZodPipe(actionName, 'action_unknown')) action: NetworkAction,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const fields = body === undefined || body === null ? {} : body;
    if (typeof fields !== 'object' || Array.isArray(fields)) throw new ApiError(400, 'payload_invalid', 'the body must be a JSON object');
    const { job, replayed } = await this.networks.action(hostId, name, action, fields as Record<string, unknown>, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Delete('v1/hosts/:hostId/networks/:name')
  @RequireScope('operate')
  @ApiOperation({ summary: 'Stop and undefine a network (job undefine-network); refused while a running VM uses it unless force=true' })
  @ApiQuery({ name: 'force', required: false })
  @ApiResponse({ status: 202, schema: jobSchema })
  async undefine(
    @Param('hostId', new ParseUUIDPipe()) hostId: string,
    @Param('name') name: string,
    @Query(new ZodPipe(undefineQuery)) q: z.infer<typeof undefineQuery>,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.networks.undefine(hostId, name, q.force, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }
}
