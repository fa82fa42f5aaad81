import { Body, Controller, Get, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { ZodPipe } from '../common/zod.pipe';
import { hostSchema, toOpenApi } from '../openapi/schemas';
import { hostView } from './host.view';
import { createHostBody, HostsService, type CreateHostBody } from './hosts.service';

@ApiTags('hosts')
@ApiBearerAuth()
@Controller('v1/hosts')
export class HostsController {
  constructor(private readonly hosts: HostsService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Hosts with state, facts and last heartbeat' })
  @ApiResponse({ status: 200, schema: { type: 'object', properties: { items: { type: 'array', items: hostSchema } } } })
  async list() {
    return { items: (await this.hosts.list()).map(hostView) };
  }

  @Get(':id')
  @RequireScope('read')
  @ApiResponse({ status: 200, schema: hostSchema })
  async get(@Param('id', new ParseUUIDPipe()) id: string) {
    return hostView(await this.hosts.get(id));
  }

  @Post()
  @RequireScope('admin')
  @ApiOperation({ summary: 'Register a host; answers its agent token once (only the hash is kept)' })
  @ApiBody({ schema: toOpenApi(createHostBody, 'input') })
  @ApiResponse({ status: 201, schema: { type: 'object', properties: { host: hostSchema, agentToken: { type: 'string' } } } })
  async create(@Body(new ZodPipe(createHostBody)) body: CreateHostBody) {
    const { host, agentToken } = await this.hosts.create(body);
    return { host: hostView(host), agentToken };
  }
}
