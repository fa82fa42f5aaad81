import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { heartbeat, inventoryReport, reportBatch, type Heartbeat, type InventoryReport, type ReportBatch } from '@virtfleet/contracts';
import { AgentOnly, CurrentPrincipal, Public } from '../auth/auth.decorators';
import type { Principal } from '../auth/tokens';
import { ZodPipe } from '../common/zod.pipe';
import { EnrollmentService, enrollBody, type EnrollBody } from '../hosts/enrollment.service';
import { HostsService } from '../hosts/hosts.service';
import { toOpenApi } from '../openapi/schemas';
import { InventoryService } from '../vms/inventory.service';
import { ReportsService } from './reports.service';

/** Where agents enroll and report back. An agent token only ever speaks for its own host. */
@ApiTags('agent')
@ApiBearerAuth()
@AgentOnly()
@Controller('v1/agent')
export class AgentsController {
  constructor(
    private readonly reports: ReportsService,
    private readonly hosts: HostsService,
    private readonly enrollment: EnrollmentService,
    private readonly inventory: InventoryService,
  ) {}

  @Post('enroll')
  @Public()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Enroll a host with a join token (virtfleet-agent enroll)',
    description: 'Answers the host id, its agent token and its Redis URL (a user limited to its own queue), once. A known name is re-enrolled: its credentials rotate.',
  })
  @ApiBody({ schema: toOpenApi(enrollBody, 'input') })
  enroll(@Body(new ZodPipe(enrollBody, 'enroll_invalid')) body: EnrollBody) {
    return this.enrollment.enroll(body);
  }

  @Post('reports')
  @HttpCode(200)
  @ApiOperation({ summary: 'Job reports from a host agent (started, progress, command, succeeded, failed), fenced by attempt' })
  @ApiBody({ schema: toOpenApi(reportBatch, 'input') })
  async report(@Body(new ZodPipe(reportBatch, 'report_invalid')) body: ReportBatch, @CurrentPrincipal() who: Principal) {
    return this.reports.applyBatch(hostIdOf(who), body.reports);
  }

  @Post('heartbeat')
  @HttpCode(200)
  @ApiOperation({ summary: 'Host agent heartbeat, with its facts when they changed; answers the running jobs to cancel' })
  @ApiBody({ schema: toOpenApi(heartbeat, 'input') })
  async heartbeat(@Body(new ZodPipe(heartbeat, 'heartbeat_invalid')) body: Heartbeat, @CurrentPrincipal() who: Principal) {
    return this.hosts.heartbeat(hostIdOf(who), body);
  }

  @Post('inventory')
  @HttpCode(200)
  @ApiOperation({
    summary: "The host's libvirt inventory: a full snapshot (domains, networks, pools), one changed domain, or a domain gone",
    description: 'Applied in order per host; news older than what a VM row holds (takenAt) is ignored.',
  })
  @ApiBody({ schema: toOpenApi(inventoryReport, 'input') })
  async applyInventory(@Body(new ZodPipe(inventoryReport, 'inventory_invalid')) body: InventoryReport, @CurrentPrincipal() who: Principal) {
    return this.inventory.apply(hostIdOf(who), body);
  }
}

function hostIdOf(p: Principal): string {
  if (p.kind !== 'agent') throw new Error('AgentOnly route reached without an agent principal');
  return p.hostId;
}
