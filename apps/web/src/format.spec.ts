import { ago, bytes, duration, jobTarget, jobTypeLabel, percent } from './format';
import type { Job } from '@virtfleet/sdk';

describe('how the console writes numbers, times and jobs', () => {
  it('sizes in binary units', () => {
    expect([0, 512, 1024, 1536, 10 * 1024 ** 3, 252 * 1024 ** 3 + 5, 1024 ** 4 * 3.5].map(bytes)).toEqual(['0 B', '512 B', '1 KiB', '1.5 KiB', '10 GiB', '252 GiB', '3.5 TiB']);
    expect(bytes(null)).toBe('—');
  });

  it('percentages stay within 0–100 and a total of 0 is 0 %', () => {
    expect([percent(1, 3), percent(5, 4), percent(-1, 4), percent(1, 0)]).toEqual([33, 100, 0, 0]);
  });

  it('times ago and durations', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(['2026-01-01T11:59:48Z', '2026-01-01T11:55:00Z', '2026-01-01T09:00:00Z', '2026-01-01T12:00:05Z'].map((t) => ago(t, now))).toEqual(['12 s ago', '5 min ago', '3 h ago', 'just now']);
    expect(ago(null)).toBe('—');
    expect([850, 12_400, 185_000, 3_900_000].map(duration)).toEqual(['850 ms', '12.4 s', '3 min 5 s', '1 h 5 min']);
  });

  it('names what a job acts on from its payload', () => {
    const job = (type: string, payload: unknown) => ({ type, payload }) as unknown as Job;
    expect(jobTarget(job('create-disk', { name: 'd1', sizeGiB: 1 }))).toBe('d1');
    expect(jobTarget(job('shutdown-vm', { vm: { uuid: 'u', name: 'web1' } }))).toBe('web1');
    expect(jobTarget(job('create-snapshot', { vm: { uuid: 'u', name: 'db1' }, name: 'before' }))).toBe('db1 @ before');
    expect(jobTarget(job('convert-disk', { source: 'a', target: 'b', format: 'raw' }))).toBe('a → b');
    expect(jobTarget(job('define-network', { network: { kind: 'nat', name: 'lab' } }))).toBe('lab');
    expect(jobTarget(job('sleep', { seconds: 3 }))).toBe('3 s');
    expect(jobTypeLabel('create-vm')).toBe('Create VM');
  });
});
