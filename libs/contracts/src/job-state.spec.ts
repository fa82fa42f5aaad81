import { FINAL_JOB_STATES, isFinalJobState, jobError, jobState, type JobState } from './job-state';

describe('isFinalJobState', () => {
  it.each<JobState>(['succeeded', 'failed', 'cancelled', 'timed_out'])('%s is final', (s) => {
    expect(isFinalJobState(s)).toBe(true);
  });

  it.each<JobState>(['pending', 'queued', 'running'])('%s is not final', (s) => {
    expect(isFinalJobState(s)).toBe(false);
  });

  it('every final state is a job state', () => {
    for (const s of FINAL_JOB_STATES) expect(jobState.safeParse(s).success).toBe(true);
  });
});

describe('jobError', () => {
  it('accepts a command failure', () => {
    const e = {
      code: 'command_failed',
      message: 'qemu-img exited with code 1: Could not open',
      command: ['qemu-img', 'info', '--output=json', '-f', 'qcow2', '/srv/d1.qcow2'],
      exitCode: 1,
      signal: null,
      stderrTail: 'Could not open\n',
    };
    expect(jobError.parse(e)).toEqual(e);
  });

  it('needs a code and a message', () => {
    expect(jobError.safeParse({ message: 'x' }).error?.issues.map((i) => i.path)).toEqual([['code']]);
  });
});
