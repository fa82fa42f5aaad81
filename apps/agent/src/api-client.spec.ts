import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { reportBatch, type JobReport, type ReportOutcome } from '@virtfleet/contracts';
import pino from 'pino';
import { ApiClient, ApiRejectedError } from './api-client';

const TOKEN = 'vfa_0123456789abcdefghijklmnop';

interface Received {
  method: string | undefined;
  path: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}
interface Answer {
  status: number;
  body?: unknown;
}

/** A stand-in for the API: records every request and answers from a script (default: all applied). */
class FakeApi {
  readonly received: Received[] = [];
  /** Answers for the next requests, in order; when empty, `answer` decides. */
  readonly script: Answer[] = [];
  answer: (req: Received) => Answer = (req) => ({ status: 200, body: { outcomes: reportsOf(req).map(() => 'applied') } });
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void readBody(req).then((text) => {
        const received: Received = {
          method: req.method,
          path: req.url,
          authorization: req.headers.authorization,
          contentType: req.headers['content-type'],
          body: text ? JSON.parse(text) : undefined,
        };
        this.received.push(received);
        const answer = this.script.shift() ?? this.answer(received);
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  }

  /** The report batches posted, in the order they arrived. */
  batches(): JobReport[][] {
    return this.received.filter((r) => r.path === '/v1/agent/reports').map(reportsOf);
  }
}

function reportsOf(req: Received): JobReport[] {
  return reportBatch.parse(req.body).reports;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

const progress = (jobId: string, p: number): JobReport => ({ kind: 'progress', jobId, attempt: 1, progress: p });

describe('ApiClient', () => {
  let api: FakeApi;
  let client: ApiClient;

  beforeEach(async () => {
    api = new FakeApi();
    await api.start();
    client = new ApiClient(api.url, TOKEN, pino({ enabled: false }));
  });
  afterEach(async () => {
    client.close();
    await api.stop();
  });

  it('posts reports with the bearer token, in order, batching what queued up meanwhile', async () => {
    const [j1, j2] = [randomUUID(), randomUUID()];
    const reports = [progress(j1, 10), progress(j1, 20), { kind: 'started', jobId: j2 } as const, progress(j1, 30)];

    const acks = await Promise.all(reports.map((r) => client.report(r)));

    expect(acks.map((a) => a.outcome)).toEqual(['applied', 'applied', 'applied', 'applied']);
    // the first report leaves at once; the rest wait for its answer and travel together
    expect(api.batches()).toEqual([[reports[0]], reports.slice(1)]);
    for (const req of api.received) {
      expect(req).toMatchObject({ method: 'POST', authorization: `Bearer ${TOKEN}`, contentType: 'application/json' });
    }
  });

  it('hands each report the outcome at its own position in the answer', async () => {
    const [j1, j2, j3] = [randomUUID(), randomUUID(), randomUUID()];
    const outcomeOf: Record<string, ReportOutcome> = { [j1]: 'applied', [j2]: 'stale_attempt', [j3]: 'job_final' };
    api.answer = (req) => ({ status: 200, body: { outcomes: reportsOf(req).map((r) => outcomeOf[r.jobId]) } });

    const acks = await Promise.all([client.report(progress(j3, 1)), client.report(progress(j1, 1)), client.report(progress(j2, 1))]);

    expect(acks).toEqual([{ outcome: 'job_final' }, { outcome: 'applied' }, { outcome: 'stale_attempt' }]);
  });

  it('hands a started report the attempt the API assigned', async () => {
    const jobId = randomUUID();
    api.answer = () => ({ status: 200, body: { outcomes: ['applied'], attempts: [3] } });

    await expect(client.report({ kind: 'started', jobId })).resolves.toEqual({ outcome: 'applied', attempt: 3 });
  });

  it('answers job_not_found for a report the API gave no outcome for', async () => {
    api.answer = () => ({ status: 200, body: { outcomes: [] } });

    await expect(client.report(progress(randomUUID(), 5))).resolves.toEqual({ outcome: 'job_not_found' });
  });

  it('retries a batch the API answered 503 until it answers 200', async () => {
    api.script.push({ status: 503, body: { error: { code: 'unavailable', message: 'database down' } } }, { status: 503 });
    const report = progress(randomUUID(), 50);

    await expect(client.report(report)).resolves.toEqual({ outcome: 'applied' });

    expect(api.batches()).toEqual([[report], [report], [report]]);
  });

  it('keeps the order when later reports queue up behind a batch being retried', async () => {
    api.script.push({ status: 503 });
    const jobId = randomUUID();

    const first = client.report(progress(jobId, 10));
    const rest = [client.report(progress(jobId, 20)), client.report(progress(jobId, 100))];
    await expect(Promise.all([first, ...rest])).resolves.toEqual([{ outcome: 'applied' }, { outcome: 'applied' }, { outcome: 'applied' }]);

    expect(api.batches().map((b) => b.map((r) => (r.kind === 'progress' ? r.progress : -1)))).toEqual([[10], [10], [20, 100]]);
  });

  it('rejects with ApiRejectedError when the API refuses the token (401), without retrying', async () => {
    api.answer = () => ({ status: 401, body: { error: { code: 'unauthorized', message: 'bad agent token' } } });

    const err = await client.report(progress(randomUUID(), 1)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ApiRejectedError);
    expect((err as Error).message).toMatch(/^API refused \/v1\/agent\/reports with 401: .*bad agent token/);
    expect(api.received).toHaveLength(1);
  });

  it('rejects every report of a refused batch and goes on with the next one', async () => {
    const jobId = randomUUID();
    api.script.push({ status: 200, body: { outcomes: ['applied'] } }, { status: 400, body: { error: { code: 'invalid' } } });

    const results = await Promise.allSettled([
      client.report(progress(jobId, 1)),
      client.report(progress(jobId, 2)),
      client.report(progress(jobId, 3)),
    ]);
    const after = await client.report(progress(jobId, 4));

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(after).toEqual({ outcome: 'applied' });
  });

  it('stops retrying once closed', async () => {
    client.close();
    api.answer = () => ({ status: 503 });

    await expect(client.report(progress(randomUUID(), 1))).rejects.toThrow('API answered 503');
    expect(api.received).toHaveLength(1);
  });

  it('posts heartbeats with the bearer token', async () => {
    api.answer = () => ({ status: 204 });

    await client.heartbeat({});

    expect(api.received).toEqual([
      { method: 'POST', path: '/v1/agent/heartbeat', authorization: `Bearer ${TOKEN}`, contentType: 'application/json', body: {} },
    ]);
  });
});
