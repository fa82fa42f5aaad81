import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { LIVE_JOB_STATES } from '@virtfleet/contracts';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PgService } from '../db/pg.service';
import { JobEvents } from '../jobs/job-events';

// GET /metrics (Prometheus text format, prom-client). Two kinds of series:
// - counted as things happen in this process: finished jobs and their durations (from the job
//   events every end publishes), HTTP requests by route, inventory report lag;
// - read from PostgreSQL at each scrape, so every replica tells the same truth: live jobs by type
//   and state, jobs waiting per host, hosts by state, each host's heartbeat age.
// Series names: docs/operations.md ("Metrics").

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const JOB_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

@Injectable()
export class MetricsService implements OnModuleDestroy {
  readonly registry = new Registry();
  private readonly finished = new Counter({
    name: 'virtfleet_jobs_finished_total',
    help: 'Jobs that reached a final state, by type and state (this API process saw them end)',
    labelNames: ['type', 'state'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'virtfleet_job_duration_seconds',
    help: 'A finished job from its start on a host to its final state, by type and state',
    labelNames: ['type', 'state'] as const,
    buckets: JOB_SECONDS,
    registers: [this.registry],
  });
  private readonly http = new Histogram({
    name: 'virtfleet_http_request_duration_seconds',
    help: 'HTTP requests by method, route (its pattern) and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly reportLag = new Histogram({
    name: 'virtfleet_inventory_report_lag_seconds',
    help: 'From the agent reading libvirt (the report’s takenAt, by its clock) to the API applying the report',
    labelNames: ['kind'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly jobs = new Gauge({
    name: 'virtfleet_jobs',
    help: 'Live jobs (pending, queued, running) by type and state',
    labelNames: ['type', 'state'] as const,
    registers: [this.registry],
  });
  private readonly waiting = new Gauge({
    name: 'virtfleet_host_queue_depth',
    help: 'Jobs waiting for a host (pending or queued)',
    labelNames: ['host'] as const,
    registers: [this.registry],
  });
  private readonly hosts = new Gauge({
    name: 'virtfleet_hosts',
    help: 'Hosts by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  private readonly heartbeatAge = new Gauge({
    name: 'virtfleet_host_heartbeat_age_seconds',
    help: 'Seconds since each host’s last heartbeat (absent for a host that never sent one)',
    labelNames: ['host'] as const,
    registers: [this.registry],
  });
  private readonly unsubscribe: () => void;

  constructor(
    private readonly pg: PgService,
    events: JobEvents,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'virtfleet_api_' });
    this.unsubscribe = events.subscribeOwn((e) => {
      if (e.event !== 'job.finished') return;
      this.finished.inc({ type: e.job.type, state: e.job.state });
      if (e.job.startedAt && e.job.finishedAt) {
        this.duration.observe({ type: e.job.type, state: e.job.state }, (Date.parse(e.job.finishedAt) - Date.parse(e.job.startedAt)) / 1000);
      }
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.http.observe({ method, route, status: String(status) }, seconds);
  }

  observeReport(kind: string, takenAt: Date): void {
    this.reportLag.observe({ kind }, Math.max(0, (Date.now() - takenAt.getTime()) / 1000));
  }

  /** The whole text a scrape answers: the database-read gauges refreshed first. */
  async scrape(): Promise<string> {
    const [live, hosts] = await Promise.all([
      this.pg.rows<{ type: string; state: string; n: number }>({
        name: 'metrics-live-jobs',
        text: `SELECT "type", "state"::text AS "state", count(*)::int AS "n" FROM "Job" WHERE "state" = ANY($1::"JobState"[]) GROUP BY 1, 2`,
        values: [LIVE_JOB_STATES],
      }),
      this.pg.rows<{ name: string; state: string; age: number | null; waiting: number }>({
        name: 'metrics-hosts',
        text: `SELECT h."name", h."state"::text AS "state",
                 extract(epoch FROM (now() AT TIME ZONE 'UTC') - h."lastHeartbeatAt")::float8 AS "age",
                 coalesce(w."n", 0)::int AS "waiting"
               FROM "Host" h
               LEFT JOIN (SELECT "hostId", count(*) AS "n" FROM "Job" WHERE "state" IN ('pending', 'queued') GROUP BY 1) w ON w."hostId" = h."id"`,
      }),
    ]);
    this.jobs.reset();
    for (const r of live) this.jobs.set({ type: r.type, state: r.state }, r.n);
    this.hosts.reset();
    this.waiting.reset();
    this.heartbeatAge.reset();
    const byState = new Map<string, number>();
    for (const h of hosts) {
      byState.set(h.state, (byState.get(h.state) ?? 0) + 1);
      this.waiting.set({ host: h.name }, h.waiting);
      if (h.age !== null) this.heartbeatAge.set({ host: h.name }, Math.max(0, h.age));
    }
    for (const state of ['online', 'offline', 'revoked']) this.hosts.set({ state }, byState.get(state) ?? 0);
    return this.registry.metrics();
  }
}
