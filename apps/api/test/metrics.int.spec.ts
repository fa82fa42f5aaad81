import { ApiHarness } from './harness';

// GET /metrics, scraped and parsed as Prometheus would: every series the operations docs name is
// there, with the values this test's own traffic gives them.

/** Prometheus text format: `name{label="v",…} value` lines, # HELP and # TYPE comments. */
function parse(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    if (line.startsWith('#')) {
      expect(line).toMatch(/^# HELP \S+ .+$/);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return { samples, types };
}

describe('GET /metrics', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await ApiHarness.start({ VIRTFLEET_TEST_JOBS: '1' });
  });
  afterAll(() => api.close(), 60_000);

  const scrape = async () => {
    const res = await fetch(new URL('/metrics', api.url)); // no token: scraped like /healthz
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return parse(await res.text());
  };

  it('exposes jobs, job durations, queue depth, hosts, heartbeat age, report lag and HTTP latency', async () => {
    const host = await api.host('metrics-h1');
    expect((await api.call('POST', '/v1/agent/heartbeat', { token: host.agentToken, body: {} })).status).toBe(200);
    const submit = async () => {
      const r = await api.call<{ id: string }>('POST', '/v1/jobs', { body: { type: 'noop', hostId: host.id, payload: {} } });
      expect(r.status).toBe(202);
      return r.body.id;
    };
    // one job run to its end as an agent reports it, one left waiting
    const done = await submit();
    const reports = (body: unknown[]) => api.call('POST', '/v1/agent/reports', { token: host.agentToken, body: { reports: body } });
    await reports([{ kind: 'started', jobId: done }]);
    await reports([{ kind: 'succeeded', jobId: done, attempt: 1, result: {} }]);
    const left = await submit();
    const takenAt = new Date(Date.now() - 1500).toISOString();
    expect((await api.call('POST', '/v1/agent/inventory', { token: host.agentToken, body: { kind: 'full', takenAt, domains: [], networks: [], pools: [] } })).status).toBe(200);

    const { samples, types } = await scrape();
    const at = (series: string) => samples.get(series);
    expect(at('virtfleet_hosts{state="online"}')).toBe(1);
    expect(at('virtfleet_hosts{state="offline"}')).toBe(0);
    expect(at('virtfleet_host_heartbeat_age_seconds{host="metrics-h1"}')).toBeGreaterThanOrEqual(0);
    expect(at('virtfleet_host_heartbeat_age_seconds{host="metrics-h1"}')).toBeLessThan(60);
    expect(at('virtfleet_jobs{type="noop",state="queued"}')).toBe(1);
    expect(at('virtfleet_host_queue_depth{host="metrics-h1"}')).toBe(1);
    expect(at('virtfleet_jobs_finished_total{type="noop",state="succeeded"}')).toBe(1);
    expect(at('virtfleet_job_duration_seconds_count{type="noop",state="succeeded"}')).toBe(1);
    expect(at('virtfleet_job_duration_seconds_bucket{le="+Inf",type="noop",state="succeeded"}')).toBe(1);
    expect(at('virtfleet_inventory_report_lag_seconds_count{kind="full"}')).toBe(1);
    expect(at('virtfleet_inventory_report_lag_seconds_sum{kind="full"}')).toBeGreaterThanOrEqual(1.5);
    expect(at('virtfleet_http_request_duration_seconds_count{method="POST",route="/v1/jobs",status="202"}')).toBe(2);
    expect(at('virtfleet_http_request_duration_seconds_count{method="POST",route="/v1/agent/heartbeat",status="200"}')).toBe(1);
    expect(at('virtfleet_api_process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(types.get('virtfleet_jobs_finished_total')).toBe('counter');
    expect(types.get('virtfleet_job_duration_seconds')).toBe('histogram');
    expect(types.get('virtfleet_jobs')).toBe('gauge');

    // the gauges are read at each scrape: cancelling the waiting job empties the host's queue
    expect((await api.call('POST', `/v1/jobs/${left}/cancel`)).status).toBeLessThan(300);
    const after = await scrape();
    expect(after.samples.get('virtfleet_jobs{type="noop",state="queued"}')).toBeUndefined();
    expect(after.samples.get('virtfleet_host_queue_depth{host="metrics-h1"}')).toBe(0);
    expect(after.samples.get('virtfleet_jobs_finished_total{type="noop",state="cancelled"}')).toBe(1);
  });
});
