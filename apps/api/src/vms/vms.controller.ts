import { Body, Controller, Delete, Get, Header, Headers, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { jobCatalog } from '@virtfleet/contracts';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../audit/audit.service';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/tokens';
import { ApiError } from '../common/api-error';
import { accepted, checkedIdempotencyKey } from '../common/accepted';
import { ZodPipe } from '../common/zod.pipe';
import { errorSchema, jobSchema, toOpenApi, vmSchema } from '../openapi/schemas';
import { vmView } from './vm.view';
import {
  VM_ACTIONS,
  VmsService,
  createVmBody,
  defineVmBody,
  listVmsQuery,
  patchVmBody,
  undefineQuery,
  type ListVmsQuery,
  type VmAction,
} from './vms.service';
import { cloneVmBody, type CloneVmBody } from './clone-plan';

const dryRunQuery = z.object({ dryRun: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1') });
const actionName = z.enum(Object.keys(VM_ACTIONS) as [VmAction, ...VmAction[]]);

/** Body of each action route: the job's payload without `vm` (the route names the VM). */
function actionBodySchema(action: VmAction) {
  const schema = toOpenApi(jobCatalog[VM_ACTIONS[action]].payload, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  const properties = Object.fromEntries(Object.entries(schema.properties ?? {}).filter(([k]) => k !== 'vm'));
  return { ...schema, properties, required: (schema.required ?? []).filter((r) => r !== 'vm') };
}

const flag = z.enum(['true', 'false']).transform((v) => v === 'true').optional();
const detachQuery = z.object({ live: flag, config: flag });

@ApiTags('vms')
@ApiBearerAuth()
@Controller('v1/vms')
export class VmsController {
  constructor(private readonly vms: VmsService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'VMs as their hosts last reported them, newest first (virsh list --all across the fleet)' })
  @ApiQuery({ name: 'hostId', required: false })
  @ApiQuery({ name: 'state', required: false, description: 'running, paused, shutoff, crashed …' })
  @ApiQuery({ name: 'status', required: false, enum: ['creating', 'managed', 'unmanaged', 'missing'] })
  @ApiQuery({ name: 'name', required: false, description: 'names containing this text' })
  @ApiQuery({ name: 'label', required: false, description: 'key=value[,key=value]: all must match' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiResponse({ status: 200, schema: { type: 'object', properties: { items: { type: 'array', items: vmSchema }, nextCursor: { type: 'string', nullable: true } } } })
  async list(@Query(new ZodPipe(listVmsQuery)) q: ListVmsQuery) {
    const page = await this.vms.list(q);
    return { items: page.items.map(vmView), nextCursor: page.nextCursor };
  }

  @Post()
  @RequireScope('operate')
  @ApiOperation({
    summary: 'Create a VM (job create-vm): virt-install with import, cdrom, location, pxe or direct kernel boot',
    description:
      'Without hostId the API places the VM (online hosts out of maintenance matching hostSelector, with the networks, disks, memory and vCPUs it needs; the one with most room left). ?dryRun=true answers the decision (200) without doing anything. No host fits: 409 with per-host reasons.',
  })
  @ApiQuery({ name: 'dryRun', required: false })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiBody({
    schema: {
      allOf: [
        toOpenApi(jobCatalog['create-vm'].payload, 'input'),
        {
          type: 'object',
          properties: {
            hostId: { type: 'string', format: 'uuid' },
            hostSelector: { type: 'object', additionalProperties: { type: 'string' }, description: 'host labels that must match' },
          },
        },
      ],
    },
  })
  @ApiResponse({ status: 202, description: 'the create-vm job (with its placement)', schema: jobSchema })
  @ApiResponse({ status: 409, description: 'no host fits (details.hosts gives each host and why), or the name is taken', schema: errorSchema })
  async create(
    @Body(new ZodPipe(createVmBody)) body: z.infer<typeof createVmBody>,
    @Query(new ZodPipe(dryRunQuery)) q: z.infer<typeof dryRunQuery>,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const out = await this.vms.create(body, { dryRun: q.dryRun, idempotencyKey: checkedIdempotencyKey(key), actor: actorOf(who) });
    if (!out.job) {
      void reply.status(200);
      return { dryRun: true, placement: out.placement };
    }
    return accepted(reply, out.job, out.replayed ?? false);
  }

  @Post('define')
  @RequireScope('operate')
  @ApiOperation({
    summary: 'Define a VM from domain XML (job define-vm, virsh define)',
    description:
      "The XML must pass the allowlist: no <qemu:commandline>, <hostdev>, <emulator>, <filesystem>, seclabel type='none', entities, or file sources outside the host's storage roots. A missing <uuid> is filled in.",
  })
  @ApiBody({ schema: toOpenApi(defineVmBody, 'input') })
  @ApiResponse({ status: 202, schema: jobSchema })
  @ApiResponse({ status: 400, description: 'XML refused, with the violations', schema: errorSchema })
  async define(
    @Body(new ZodPipe(defineVmBody)) body: z.infer<typeof defineVmBody>,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.vms.define(body, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'One VM: what dominfo, domiflist and domblklist tell, as last reported' })
  @ApiResponse({ status: 200, schema: vmSchema })
  @ApiResponse({ status: 404, schema: errorSchema })
  async get(@Param('id', new ParseUUIDPipe()) id: string) {
    return vmView(await this.vms.get(id));
  }

  @Get(':id/xml')
  @RequireScope('read')
  @Header('content-type', 'application/xml; charset=utf-8')
  @ApiOperation({ summary: 'The domain XML as last reported (virsh dumpxml)' })
  async xml(@Param('id', new ParseUUIDPipe()) id: string) {
    const vm = await this.vms.get(id);
    if (!vm.xml) throw new ApiError(404, 'vm_xml_unknown', `${vm.name} has not been reported by its host yet`);
    return vm.xml;
  }

  @Patch(':id')
  @RequireScope('operate')
  @ApiOperation({ summary: "Change a VM's labels (API-side only)" })
  @ApiBody({ schema: toOpenApi(patchVmBody, 'input') })
  @ApiResponse({ status: 200, schema: vmSchema })
  async patch(@Param('id', new ParseUUIDPipe()) id: string, @Body(new ZodPipe(patchVmBody)) body: z.infer<typeof patchVmBody>, @CurrentPrincipal() who: Principal) {
    return vmView(await this.vms.patch(id, body, actorOf(who)));
  }

  @Delete(':id')
  @RequireScope('operate')
  @ApiOperation({
    summary: 'Remove a VM (job undefine-vm): stops it, undefines it, and with removeStorage=true deletes its disks inside our storage roots',
  })
  @ApiQuery({ name: 'removeStorage', required: false })
  @ApiQuery({ name: 'deleteSnapshots', required: false, description: 'required when the VM has snapshots' })
  @ApiResponse({ status: 202, schema: jobSchema })
  async remove(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query(new ZodPipe(undefineQuery)) q: z.infer<typeof undefineQuery>,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.vms.undefine(id, q, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Post(':id/clone')
  @RequireScope('operate')
  @ApiOperation({
    summary: 'Clone a shut-off VM (job clone-vm, virt-clone); with count, a bulk clone: one child job per clone under a parent job',
    description:
      'Give exactly one of name, autoClone (virt-clone --auto-clone naming: <vm>-clone, <vm>-clone1 …) or namePattern ("web-{n}", with count). Writable disks are copied into the store root (default names: the source disk name with the VM name swapped, else <clone>-<target>); read-only ones (install media) are shared unless in forceCopy. A running source fails the job unless shutdownSource (one clone only). A host runs at most its clone concurrency (agent VIRTFLEET_CLONE_CONCURRENCY, default 2) at once; a bulk clone answers its parent job, whose progress and state follow the children (GET /v1/jobs?parentId=…).',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiBody({ schema: toOpenApi(cloneVmBody, 'input') })
  @ApiResponse({ status: 202, description: 'the clone-vm job, or the parent job of a bulk clone', schema: jobSchema })
  @ApiResponse({ status: 409, description: 'a clone or disk name is taken on the host, or the VM is unmanaged/missing', schema: errorSchema })
  async clone(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body(new ZodPipe(cloneVmBody)) body: CloneVmBody,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.vms.clone(id, body, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Post(':id/interfaces')
  @RequireScope('operate')
  @ApiOperation({
    summary: 'Add a NIC (job attach-interface, virsh attach-interface): on a network or a host bridge; live when the VM runs and in its config, unless told otherwise',
    description: 'Body: {"network": "nat0"} or {"bridge": "br1"}, "model" (default virtio), "mac" (the API picks one otherwise), "live", "config" (default true). An Open vSwitch bridge gets <virtualport type="openvswitch"/>.',
  })
  @ApiBody({ schema: { type: 'object', properties: { network: { type: 'string' }, bridge: { type: 'string' }, model: { type: 'string' }, mac: { type: 'string' }, live: { type: 'boolean' }, config: { type: 'boolean' } } } })
  @ApiResponse({ status: 202, schema: jobSchema })
  async attachInterface(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.vms.attachInterface(id, objectBody(body), checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Delete(':id/interfaces/:mac')
  @RequireScope('operate')
  @ApiOperation({ summary: 'Remove the NIC with this MAC (job detach-interface, virsh detach-interface): live when the VM runs and from its config, unless told otherwise' })
  @ApiQuery({ name: 'live', required: false })
  @ApiQuery({ name: 'config', required: false })
  @ApiResponse({ status: 202, schema: jobSchema })
  async detachInterface(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('mac') mac: string,
    @Query(new ZodPipe(detachQuery)) q: z.infer<typeof detachQuery>,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.vms.detachInterface(id, mac, q, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Get(':id/snapshots')
  @RequireScope('read')
  @ApiOperation({ summary: "The VM's snapshots (virsh snapshot-list): name, creation time, state at snapshot, parent, current" })
  async snapshots(@Param('id', new ParseUUIDPipe()) id: string) {
    return { items: await this.vms.snapshots(id) };
  }

  @Post(':id/snapshots')
  @RequireScope('operate')
  @ApiOperation({ summary: 'Take an internal snapshot (job create-snapshot, virsh snapshot-create-as); running or shut off; name defaults to a timestamp' })
  @ApiBody({ required: false, schema: { type: 'object', properties: { name: { type: 'string' }, description: { type: 'string' } } } })
  @ApiResponse({ status: 202, schema: jobSchema })
  async createSnapshot(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.vms.snapshotJob(id, 'create-snapshot', objectBody(body), checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Post(':id/snapshots/:name/revert')
  @RequireScope('operate')
  @ApiOperation({ summary: 'Revert to a snapshot (job revert-snapshot); the result says whether the VM is running or shut off afterwards' })
  @ApiResponse({ status: 202, schema: jobSchema })
  async revertSnapshot(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('name') name: string,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.vms.snapshotJob(id, 'revert-snapshot', { name }, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Delete(':id/snapshots/:name')
  @RequireScope('operate')
  @ApiOperation({ summary: 'Delete a snapshot (job delete-snapshot)' })
  @ApiResponse({ status: 202, schema: jobSchema })
  async deleteSnapshot(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('name') name: string,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.vms.snapshotJob(id, 'delete-snapshot', { name }, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Post(':id/adopt')
  @HttpCode(200)
  @RequireScope('operate')
  @ApiOperation({ summary: 'Take over an unmanaged domain (found on the host, not made through us)' })
  @ApiResponse({ status: 200, schema: vmSchema })
  async adopt(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() who: Principal) {
    return vmView(await this.vms.adopt(id, actorOf(who)));
  }

  @Post(':id/actions/:action')
  @RequireScope('operate')
  @ApiOperation({
    summary: 'Power and lifecycle actions: start, shutdown, destroy, reboot, suspend, resume, set-autostart, set-vcpus, set-memory',
    description: Object.entries(VM_ACTIONS)
      .map(([a, t]) => `**${a}** (job ${t}): ${jobCatalog[t].summary} Body: ${JSON.stringify(actionBodySchema(a as VmAction).properties)}`)
      .join('\n\n'),
  })
  @ApiParam({ name: 'action', enum: Object.keys(VM_ACTIONS) })
  @ApiBody({ required: false, schema: { type: 'object', description: 'the action job payload without vm (see the description)' } })
  @ApiResponse({ status: 202, schema: jobSchema })
  @ApiResponse({ status: 409, description: 'the VM is unmanaged (adopt it first) or missing', schema: errorSchema })
  async action(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('action', new ZodPipe(actionName, 'action_unknown')) action: VmAction,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.vms.action(id, action, objectBody(body), checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }
}

/** An optional JSON object body (an action's fields); anything else is a 400. */
function objectBody(body: unknown): Record<string, unknown> {
  const payload = body === undefined || body === null ? {} : body;
  if (typeof payload !== 'object' || Array.isArray(payload)) throw new ApiError(400, 'payload_invalid', 'the body must be a JSON object');
  return payload as Record<string, unknown>;
}
