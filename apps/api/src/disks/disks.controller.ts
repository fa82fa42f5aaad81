import { Body, Controller, Delete, Get, Headers, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { jobCatalog } from '@virtfleet/contracts';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../audit/audit.service';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/tokens';
import { accepted, checkedIdempotencyKey } from '../common/accepted';
import { ZodPipe } from '../common/zod.pipe';
import { errorSchema, jobSchema, toOpenApi } from '../openapi/schemas';
import { diskView } from './disk.view';
import { DisksService, convertDiskBody, createDiskBody, listDisksQuery } from './disks.service';

const isosQuery = z.object({ hostId: z.uuid().optional() });

@ApiTags('disks')
@ApiBearerAuth()
@Controller('v1')
export class DisksController {
  constructor(private readonly disks: DisksService) {}

  @Get('disks')
  @RequireScope('read')
  @ApiOperation({ summary: "Disks in the hosts' store roots (format, sizes, backing file, which VMs use them), newest first" })
  @ApiQuery({ name: 'hostId', required: false })
  @ApiQuery({ name: 'name', required: false, description: 'names containing this text' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  async list(@Query(new ZodPipe(listDisksQuery)) q: z.infer<typeof listDisksQuery>) {
    const page = await this.disks.list(q);
    return { items: page.items.map((x) => diskView(x.disk, x.usedBy)), nextCursor: page.nextCursor };
  }

  @Get('disks/:id')
  @RequireScope('read')
  @ApiResponse({ status: 404, schema: errorSchema })
  async get(@Param('id', new ParseUUIDPipe()) id: string) {
    const x = await this.disks.get(id);
    return diskView(x.disk, x.usedBy);
  }

  @Get('isos')
  @RequireScope('read')
  @ApiOperation({ summary: "Install media in the hosts' iso roots (what create-vm's cdrom, location and kernel sources name)" })
  @ApiQuery({ name: 'hostId', required: false })
  async isos(@Query(new ZodPipe(isosQuery)) q: z.infer<typeof isosQuery>) {
    return { items: await this.disks.isos(q.hostId) };
  }

  @Post('disks')
  @RequireScope('operate')
  @ApiOperation({ summary: 'Create a disk (job create-disk: qemu-img create; an overlay of a backing disk with -b/-F)' })
  @ApiBody({ schema: { allOf: [toOpenApi(jobCatalog['create-disk'].payload, 'input'), { type: 'object', properties: { hostId: { type: 'string', format: 'uuid' } } }] } })
  @ApiResponse({ status: 202, schema: jobSchema })
  async create(
    @Body(new ZodPipe(createDiskBody)) body: z.infer<typeof createDiskBody>,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.disks.create(body, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Post('disks/:id/convert')
  @RequireScope('operate')
  @ApiOperation({
    summary: 'Convert a disk raw↔qcow2 into a new disk (job convert-disk, qemu-img convert -p [-c]), with live progress',
    description: 'attachTo (a VM id): afterwards the shut-off VM uses the new disk and format (its domain is redefined); a running VM is refused (409) before anything happens. deleteSource removes the old disk once done.',
  })
  @ApiBody({ schema: toOpenApi(convertDiskBody, 'input') })
  @ApiResponse({ status: 202, schema: jobSchema })
  @ApiResponse({ status: 409, description: 'the VM is running, or the disk is still being created', schema: errorSchema })
  async convert(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body(new ZodPipe(convertDiskBody)) body: z.infer<typeof convertDiskBody>,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.disks.convert(id, body, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Post('disks/:id/resize')
  @RequireScope('operate')
  @ApiOperation({ summary: 'Grow a disk (job resize-disk); shrinking needs allowShrink' })
  @ApiBody({ schema: { type: 'object', properties: { sizeGiB: { type: 'integer' }, sizeMiB: { type: 'integer' }, allowShrink: { type: 'boolean' } } } })
  @ApiResponse({ status: 202, schema: jobSchema })
  async resize(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const fields = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const { job, replayed } = await this.disks.resize(id, fields, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Post('disks/:id/inspect')
  @RequireScope('operate')
  @ApiOperation({ summary: 'Read the disk header again (job inspect-disk: qemu-img info, -U when a running VM holds it)' })
  @ApiResponse({ status: 202, schema: jobSchema })
  async inspect(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.disks.inspect(id, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Delete('disks/:id')
  @RequireScope('operate')
  @ApiOperation({ summary: 'Delete a disk (job delete-disk); refused while a VM uses it' })
  @ApiResponse({ status: 202, schema: jobSchema })
  @ApiResponse({ status: 409, description: 'a VM uses it', schema: errorSchema })
  async remove(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.disks.remove(id, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }
}
