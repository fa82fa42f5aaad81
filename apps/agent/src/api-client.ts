import type { Heartbeat, HeartbeatAnswer, InventoryAnswer, InventoryReport, JobReport, ReportAck } from '@virtfleet/contracts';
import { heartbeatAnswer, inventoryAnswer, reportBatchAnswer } from '@virtfleet/contracts';
import type { Logger } from 'pino';

interface Pending {
  report: JobReport;
  resolve: (ack: ReportAck) => void;
  reject: (err: Error) => void;
}

export class ApiRejectedError extends Error {}

/**
 * The agent's only way back to the control plane: authenticated HTTP to the API.
 * Reports are batched (whatever queued up while the previous request was in flight) and sent
 * in order; network errors and 5xx are retried with backoff until the API answers, so a job
 * whose processor awaits its final report is never finished in Redis before PostgreSQL knows.
 */
export class ApiClient {
  private queue: Pending[] = [];
  private flushing = false;
  private closed = false;

  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
    private readonly log: Logger,
  ) {}

  report(report: JobReport): Promise<ReportAck> {
    return new Promise((resolve, reject) => {
      this.queue.push({ report, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  async heartbeat(body: Heartbeat): Promise<HeartbeatAnswer> {
    return heartbeatAnswer.parse((await this.post('/v1/agent/heartbeat', body)) ?? {});
  }

  /** One inventory report, retried until the API answers (the caller sends them one at a time, in order). */
  async inventory(report: InventoryReport): Promise<InventoryAnswer> {
    return inventoryAnswer.parse(await this.withRetry(() => this.post('/v1/agent/inventory', report)));
  }

  close(): void {
    this.closed = true;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, 500);
        try {
          const answer = reportBatchAnswer.parse(
            await this.withRetry(() => this.post('/v1/agent/reports', { reports: batch.map((p) => p.report) })),
          );
          batch.forEach((p, i) => {
            const attempt = answer.attempts?.[i];
            p.resolve({ outcome: answer.outcomes[i] ?? 'job_not_found', ...(attempt ? { attempt } : {}) });
          });
        } catch (err) {
          batch.forEach((p) => p.reject(err as Error));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async withRetry<T>(fn: () => Promise<T>): Promise<T> {
    let delay = 100;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof ApiRejectedError || this.closed) throw err;
        this.log.warn({ err: (err as Error).message, retryInMs: delay }, 'API unreachable, retrying');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    const res = await fetch(new URL(path, this.apiUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status >= 500 || res.status === 429) throw new Error(`API answered ${res.status}: ${text.slice(0, 300)}`);
    if (!res.ok) throw new ApiRejectedError(`API refused ${path} with ${res.status}: ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : undefined;
  }
}
