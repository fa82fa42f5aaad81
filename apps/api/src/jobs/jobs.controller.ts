import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../audit/audit.service';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/tokens';
import { accepted, checkedIdempotencyKey } from '../common/accepted';
import { ZodPipe } from '../common/zod.pipe';
import { errorSchema, jobSchema, submitJobSchema } from '../openapi/schemas';
import { jobLogView, jobView } from './job.view';
import { JobsService, listJobsQuery, submitJobBody, type ListJobsQuery, type SubmitJobBody } from './jobs.service';

const batchBody = z.object({ jobs: z.array(submitJobBody).min(1).max(1000) });
const statsQuery = z.object({ hostId: z.uuid().optional(), type: z.string().optional() });
const waitQuery = z.object({ wait: z.coerce.number().min(0).max(3600).default(0) });
const REQUEST_ID_DOC =
  'names the request in the logs (1–128 characters of A–Z a–z 0–9 . _ : -; otherwise the API makes one); answered in X-Request-Id on every response and stored as the job\'s requestId';

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('v1/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Post()
  @HttpCode(202)
  @RequireScope('operate')
  @ApiOperation({ summary: 'Submit a job of any type in the catalog', description: 'Answers 202 with the job and Location: /v1/jobs/<id>.' })
  @ApiBody({ schema: submitJobSchema })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'the same key and body give the same job, never a second one' })
  @ApiHeader({ name: 'X-Request-Id', required: false, description: REQUEST_ID_DOC })
  @ApiResponse({ status: 202, schema: jobSchema })
  @ApiResponse({ status: 200, description: 'an Idempotency-Key seen before, with the same body: the job it made', schema: jobSchema })
  @ApiResponse({ status: 409, description: 'an Idempotency-Key seen before with another body, or a name already taken', schema: errorSchema })
  @ApiResponse({ status: 400, description: 'invalid payload: nothing written or enqueued', schema: errorSchema })
  async submit(
    @Body(new ZodPipe(submitJobBody)) body: SubmitJobBody,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { job, replayed } = await this.jobs.submit(body, checkedIdempotencyKey(key), actorOf(who));
    return accepted(reply, job, replayed);
  }

  @Post('batch')
  @HttpCode(202)
  @RequireScope('operate')
  @ApiOperation({
    summary: 'Submit up to 1,000 jobs at once',
    description:
      'Each item is a POST /v1/jobs body. All are checked first: one bad item (400, its index in the message and path) writes nothing. Then all are written in one statement and sent to their host queues together. Answers 202 with the jobs in the order given. With Idempotency-Key, the same key and body answer the same jobs (200).',
  })
  @ApiBody({ schema: { type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', minItems: 1, maxItems: 1000, items: submitJobSchema } } } })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'the same key and body give the same jobs, never a second set' })
  @ApiHeader({ name: 'X-Request-Id', required: false, description: REQUEST_ID_DOC })
  @ApiResponse({ status: 202, schema: { type: 'object', properties: { items: { type: 'array', items: jobSchema } } } })
  @ApiResponse({ status: 200, description: 'an Idempotency-Key seen before, with the same body: the jobs it made', schema: { type: 'object', properties: { items: { type: 'array', items: jobSchema } } } })
  @ApiResponse({ status: 400, description: 'an invalid item: nothing written or enqueued', schema: errorSchema })
  @ApiResponse({ status: 409, description: 'an Idempotency-Key seen before with another body', schema: errorSchema })
  async submitBatch(
    @Body(new ZodPipe(batchBody)) body: z.infer<typeof batchBody>,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const { jobs, replayed } = await this.jobs.submitMany(body.jobs, checkedIdempotencyKey(key), actorOf(who));
    void reply.status(replayed ? 200 : 202);
    return { items: jobs.map(jobView) };
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'List jobs, newest first, with cursor paging' })
  @ApiQuery({ name: 'hostId', required: false })
  @ApiQuery({ name: 'state', required: false })
  @ApiQuery({ name: 'type', required: false })
  @ApiQuery({ name: 'parentId', required: false, description: 'the children of one bulk job (a bulk clone)' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiResponse({ status: 200, schema: { type: 'object', properties: { items: { type: 'array', items: jobSchema }, nextCursor: { type: 'string', nullable: true } } } })
  async list(@Query(new ZodPipe(listJobsQuery)) q: ListJobsQuery) {
    const page = await this.jobs.list(q);
    return { items: page.items.map(jobView), nextCursor: page.nextCursor };
  }

  @Get('stats')
  @RequireScope('read')
  @ApiOperation({ summary: 'How many jobs are in each state, optionally for one host and job type' })
  @ApiQuery({ name: 'hostId', required: false })
  @ApiQuery({ name: 'type', required: false })
  async stats(@Query(new ZodPipe(statsQuery)) q: z.infer<typeof statsQuery>) {
    return { byState: await this.jobs.stats(q) };
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'One job; ?wait=N holds the answer until the job ends or N seconds pass' })
  @ApiQuery({ name: 'wait', required: false })
  @ApiResponse({ status: 200, schema: jobSchema })
  @ApiResponse({ status: 404, schema: errorSchema })
  async get(@Param('id', new ParseUUIDPipe()) id: string, @Query(new ZodPipe(waitQuery)) q: { wait: number }) {
    const job = await this.jobs.get(id, q.wait);
    const waiting = await this.jobs.whyWaiting(job);
    return { ...jobView(job), ...(waiting ? { waiting } : {}) };
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @RequireScope('operate')
  @ApiOperation({
    summary: 'Cancel a job',
    description:
      'A job not yet started ends cancelled at once. A running job is marked (cancelRequestedAt) and its process killed on the host (SIGTERM, then SIGKILL); it ends cancelled when the agent reports. 409 when the job already ended.',
  })
  @ApiResponse({ status: 202, schema: jobSchema })
  @ApiResponse({ status: 409, schema: errorSchema })
  async cancel(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const job = await this.jobs.cancel(id, actorOf(who));
    void reply.header('location', `/v1/jobs/${job.id}`);
    return jobView(job);
  }

  @Get(':id/logs')
  @RequireScope('read')
  @ApiOperation({ summary: 'The commands the agent ran for the job: argv, exit code, output tails, timings' })
  async logs(@Param('id', new ParseUUIDPipe()) id: string) {
    return { items: (await this.jobs.logs(id)).map(jobLogView) };
  }
}
