import { randomUUID } from 'node:crypto';
import { heartbeat, reportBatch, reportBatchAnswer, type JobReport } from './reports';

const jobId = randomUUID();
const ref = { jobId, attempt: 1 };

const reports: JobReport[] = [
  { kind: 'started', jobId },
  { kind: 'progress', ...ref, progress: 50 },
  {
    kind: 'command',
    ...ref,
    command: {
      seq: 0,
      argv: ['qemu-img', 'create', '-q', '-f', 'qcow2', '/srv/d1.qcow2', '1073741824'],
      exitCode: 0,
      signal: null,
      stdoutTail: '',
      stderrTail: '',
      durationMs: 42,
      startedAt: '2026-01-01T00:00:00.000Z',
    },
  },
  { kind: 'succeeded', ...ref, result: { created: true } },
  { kind: 'failed', ...ref, error: { code: 'disk_exists', message: 'disk d1 exists' } },
];

describe('reportBatch', () => {
  it.each(reports.map((r) => [r.kind, r] as const))('accepts a %s report', (_kind, report) => {
    expect(reportBatch.parse({ reports: [report] })).toEqual({ reports: [report] });
  });

  it('accepts every kind in one batch, in order', () => {
    expect(reportBatch.parse({ reports }).reports.map((r) => r.kind)).toEqual([
      'started',
      'progress',
      'command',
      'succeeded',
      'failed',
    ]);
  });

  it.each([0, -1, 1.5])('refuses attempt %p', (attempt) => {
    const r = reportBatch.safeParse({ reports: [{ kind: 'progress', jobId, attempt, progress: 1 }] });
    expect(r.error?.issues.map((i) => i.path)).toEqual([['reports', 0, 'attempt']]);
  });

  it.each(['', 'not-a-uuid', '123', 'host-abc'])('refuses jobId %j', (bad) => {
    const r = reportBatch.safeParse({ reports: [{ kind: 'started', jobId: bad }] });
    expect(r.error?.issues.map((i) => i.path)).toEqual([['reports', 0, 'jobId']]);
  });

  it('refuses an empty batch', () => {
    expect(reportBatch.safeParse({ reports: [] }).error?.issues.map((i) => i.path)).toEqual([['reports']]);
  });

  it('refuses more than 1000 reports', () => {
    const many = Array.from({ length: 1001 }, () => ({ kind: 'started' as const, ...ref }));
    expect(reportBatch.safeParse({ reports: many }).success).toBe(false);
    expect(reportBatch.safeParse({ reports: many.slice(0, 1000) }).success).toBe(true);
  });

  it('refuses an unknown kind', () => {
    expect(reportBatch.safeParse({ reports: [{ kind: 'paused', ...ref }] }).success).toBe(false);
  });

  it.each([-1, 101])('refuses progress %p', (progress) => {
    const r = reportBatch.safeParse({ reports: [{ kind: 'progress', ...ref, progress }] });
    expect(r.error?.issues.map((i) => i.path)).toEqual([['reports', 0, 'progress']]);
  });

  it('refuses a command record with an empty argv or a non-ISO start', () => {
    const command = reports[2];
    if (command?.kind !== 'command') throw new Error('fixture order changed');
    const bad = (over: object) =>
      reportBatch.safeParse({ reports: [{ ...command, command: { ...command.command, ...over } }] }).error?.issues.map(
        (i) => i.path,
      );
    expect(bad({ argv: [] })).toEqual([['reports', 0, 'command', 'argv']]);
    expect(bad({ startedAt: 'yesterday' })).toEqual([['reports', 0, 'command', 'startedAt']]);
  });

  it('refuses a failed report without an error code', () => {
    const r = reportBatch.safeParse({ reports: [{ kind: 'failed', ...ref, error: { message: 'x' } }] });
    expect(r.error?.issues.map((i) => i.path)).toEqual([['reports', 0, 'error', 'code']]);
  });
});

describe('reportBatchAnswer', () => {
  it('accepts the known outcomes only', () => {
    expect(reportBatchAnswer.safeParse({ outcomes: ['applied', 'stale_attempt', 'job_final'] }).success).toBe(true);
    expect(reportBatchAnswer.safeParse({ outcomes: ['ok'] }).success).toBe(false);
  });
});

describe('heartbeat', () => {
  it('accepts a heartbeat without facts', () => {
    expect(heartbeat.parse({})).toEqual({});
  });
});
