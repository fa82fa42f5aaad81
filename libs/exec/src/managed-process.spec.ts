import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from './managed-process';

const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };

/** Polls until `probe` holds, or fails at the deadline. */
async function waitUntil(what: string, probe: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ManagedProcess', () => {
  let dir: string;
  let logFile: string;
  const started: ManagedProcess[] = [];
  const start = (cmd: string, args: readonly string[], extra: { cwd?: string; env?: Record<string, string> } = {}) => {
    const p = ManagedProcess.start(cmd, args, { env: extra.env ?? env, logFile, ...(extra.cwd ? { cwd: extra.cwd } : {}) });
    started.push(p);
    return p;
  };
  const log = () => readFileSync(logFile, 'utf8');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'virtfleet-mp-'));
    logFile = join(dir, 'service.log');
  });
  afterEach(async () => {
    // never leave a child behind, whatever the test did
    for (const p of started.splice(0)) {
      p.kill('SIGKILL');
      await p.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs until stop(), which ends it with SIGTERM', async () => {
    const p = start('sleep', ['30']);
    expect(p.pid).toBeGreaterThan(0);
    expect(p.running).toBe(true);
    expect(isAlive(p.pid)).toBe(true);

    await p.stop();

    expect(p.running).toBe(false);
    await expect(p.exited).resolves.toEqual({ code: null, signal: 'SIGTERM' });
    expect(isAlive(p.pid)).toBe(false);
  });

  it('sends SIGKILL after the grace period to a process that ignores SIGTERM', async () => {
    const p = start('sh', ['-c', 'trap "" TERM; echo ready; exec sleep 30']);
    await waitUntil('the trap to be set', () => log().includes('ready'));

    await p.stop(200);

    await expect(p.exited).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    expect(p.running).toBe(false);
  });

  it('appends stdout and stderr to the log file', async () => {
    writeFileSync(logFile, 'previous run\n');
    const p = start('sh', ['-c', 'echo hello; echo oops >&2']);
    await expect(p.exited).resolves.toEqual({ code: 0, signal: null });
    expect(p.running).toBe(false);
    expect(log()).toBe('previous run\nhello\noops\n');
  });

  it('reports the exit code of a process that ends by itself', async () => {
    const p = start('sh', ['-c', 'exit 7']);
    await expect(p.exited).resolves.toEqual({ code: 7, signal: null });
  });

  it('starts with exactly the given environment and working directory', async () => {
    const p = start('sh', ['-c', 'echo "$FOO ${HOME-unset}"; pwd'], { env: { ...env, FOO: 'bar' }, cwd: dir });
    await p.exited;
    expect(log()).toBe(`bar unset\n${realpathSync(dir)}\n`);
  });

  it('kill() sends SIGKILL by default', async () => {
    const p = start('sleep', ['30']);
    p.kill();
    await expect(p.exited).resolves.toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('does nothing on stop() or kill() once the process has ended', async () => {
    const p = start('true', []);
    await p.exited;
    await expect(p.stop()).resolves.toBeUndefined();
    expect(() => p.kill()).not.toThrow();
    expect(p.running).toBe(false);
  });

  it('throws for a missing program and leaves no uncaught error', async () => {
    expect(() => ManagedProcess.start('/nonexistent/virtfleet-svc', [], { env, logFile })).toThrow(
      'process did not start',
    );
    // let the child's queued 'error' event fire while this test still runs
    await new Promise((r) => setImmediate(r));
  });
});
