import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { RequireScope } from '../auth/auth.decorators';
import { ZodPipe } from '../common/zod.pipe';
import { AuditService } from './audit.service';

const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(/^\d+$/).optional(),
  actor: z.string().optional(),
  action: z.string().optional(),
  /** "token:<id>", "host:<id>", "job:<id>", "vm:<id>" … exactly. */
  target: z.string().optional(),
  /** Events at or after this time; before `until`. */
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

@ApiTags('audit')
@ApiBearerAuth()
@RequireScope('admin')
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'The audit log, newest first: who (token or host) did what to what' })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'actor', required: false })
  @ApiQuery({ name: 'action', required: false })
  @ApiQuery({ name: 'target', required: false, description: 'exactly, e.g. token:<id>, host:<id>, job:<id>' })
  @ApiQuery({ name: 'since', required: false, description: 'ISO 8601 time: events at or after it' })
  @ApiQuery({ name: 'until', required: false, description: 'ISO 8601 time: events before it' })
  list(@Query(new ZodPipe(auditQuery)) q: z.infer<typeof auditQuery>) {
    return this.audit.list({
      limit: q.limit,
      before: q.cursor ? BigInt(q.cursor) : undefined,
      actor: q.actor,
      action: q.action,
      target: q.target,
      since: q.since ? new Date(q.since) : undefined,
      until: q.until ? new Date(q.until) : undefined,
    });
  }
}
