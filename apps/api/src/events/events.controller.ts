import { Controller, Query, Sse, type MessageEvent } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { z } from 'zod';
import { RequireScope } from '../auth/auth.decorators';
import { ZodPipe } from '../common/zod.pipe';
import { JobEvents } from '../jobs/job-events';

const eventsQuery = z.object({
  hostId: z.uuid().optional(),
  type: z.string().optional(),
  /** One job's events only (what a client waiting on that job wants). */
  jobId: z.uuid().optional(),
});

@ApiTags('events')
@ApiBearerAuth()
@Controller('v1/events')
export class EventsController {
  constructor(private readonly events: JobEvents) {}

  @Sse()
  @RequireScope('read')
  @ApiOperation({
    summary: 'Server-sent events: job.created, job.updated, job.progress, job.finished, vm.updated, vm.removed',
    description:
      "Each event is named after its kind; its data is JSON with the job (job.*) or the VM (vm.*: id, hostId, uuid, name, status, state). Filter with hostId; type filters job events by job type, jobId keeps one job's events only.",
  })
  @ApiQuery({ name: 'hostId', required: false })
  @ApiQuery({ name: 'type', required: false })
  @ApiQuery({ name: 'jobId', required: false })
  stream(@Query(new ZodPipe(eventsQuery)) q: z.infer<typeof eventsQuery>): Observable<MessageEvent> {
    return new Observable<MessageEvent>((sub) => {
      // A comment line now and then keeps proxies from closing an idle stream.
      const keepalive = setInterval(() => sub.next({ type: 'keepalive', data: '' }), 15_000);
      const off = this.events.subscribe((e) => {
        if (q.hostId && e.job.hostId !== q.hostId) return;
        if (q.type && e.job.type !== q.type) return;
        if (q.jobId && e.job.id !== q.jobId) return;
        sub.next({ type: e.event, id: e.job.id, data: e.job });
      });
      const offVms = this.events.subscribeVms((e) => {
        if (q.jobId || (q.hostId && e.vm.hostId !== q.hostId)) return;
        sub.next({ type: e.event, id: e.vm.id, data: e.vm });
      });
      return () => {
        clearInterval(keepalive);
        off();
        offVms();
      };
    });
  }
}
