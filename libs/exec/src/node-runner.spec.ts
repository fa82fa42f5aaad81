import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertSucceeded, CommandFailedError } from './command';
import { NodeCommandRunner } from './node-runner';

const PATH = process.env['PATH'] ?? '/usr/bin:/bin';

/** An onStdout that aborts once the process says it is ready (so it cannot be hit too early). */
function abortOn(marker: string, ac: AbortController): (chunk: string) => void {
  return (chunk) => {
    if (chunk.includes(marker)) ac.abort();
  };
}

describe('NodeCommandRunner', () => {
  const runner = new NodeCommandRunner({ baseEnv: { PATH }, killGraceMs: 200 });
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'virtfleet-exec-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('a process that ends by itself', () => {
    it('captures exit code, stdout and stderr', async () => {
      const r = await runner.run({ cmd: 'sh', args: ['-c', 'echo out; echo err >&2; exit 3'] });
      expect(r).toMatchObject({
        argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'],
        exitCode: 3,
        signal: null,
        stdout: 'out\n',
        stderr: 'err\n',
        timedOut: false,
        aborted: false,
      });
      expect(r.spawnError).toBeUndefined();
      expect(r.startedAt).toBeInstanceOf(Date);
      expect(r.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('passes every argument literally, with no shell in between', async () => {
      const r = await runner.run({ cmd: 'printf', args: ['%s|', 'a b', '$HOME', ';ls', '*'] });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe('a b|$HOME|;ls|*|');
    });

    it('makes assertSucceeded throw with the exit code and the stderr line', async () => {
      const r = await runner.run({ cmd: 'sh', args: ['-c', 'echo out; echo err >&2; exit 3'] });
      expect(() => assertSucceeded(r)).toThrow(new CommandFailedError(r));
      expect(() => assertSucceeded(r)).toThrow('sh exited with code 3: err');
    });

    it('reports a process killed from outside by its signal', async () => {
      const r = await runner.run({ cmd: 'sh', args: ['-c', 'kill -KILL $$'] });
      expect(r).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: false, aborted: false });
    });
  });

  describe('output', () => {
    it('streams stdout and stderr while the process still runs', async () => {
      const flag = join(dir, 'streaming-flag');
      const seen: string[] = [];
      const errSeen: string[] = [];
      // The script only ends once the flag exists, and only onStdout creates it.
      const r = await runner.run(
        {
          cmd: 'sh',
          args: ['-c', 'echo ready; echo warn >&2; while [ ! -e "$1" ]; do sleep 0.01; done; echo bye', 'sh', flag],
          timeoutMs: 5_000,
        },
        {
          onStdout: (chunk) => {
            seen.push(chunk);
            if (chunk.includes('ready')) writeFileSync(flag, '');
          },
          onStderr: (chunk) => errSeen.push(chunk),
        },
      );
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).toBe(0);
      expect(seen.join('')).toBe('ready\nbye\n');
      expect(r.stdout).toBe('ready\nbye\n');
      expect(errSeen.join('')).toBe('warn\n');
    });

    it('feeds input to stdin', async () => {
      const r = await runner.run({ cmd: 'cat', args: [], input: 'line 1\nline 2\n' });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe('line 1\nline 2\n');
    });

    it('decodes multi-byte characters split across chunks', async () => {
      const text = '€'.repeat(100_000); // 300 000 bytes: pipe chunks cut through characters
      const r = await runner.run({ cmd: 'cat', args: [], input: text });
      expect(r.stdout).toBe(text);
    });

    it('gives a process without input an empty stdin', async () => {
      const r = await runner.run({ cmd: 'sh', args: ['-c', 'cat; echo end'] });
      expect(r.stdout).toBe('end\n');
    });

    it('keeps only the end of the output past maxOutputBytes', async () => {
      const small = new NodeCommandRunner({ baseEnv: { PATH }, maxOutputBytes: 10 });
      const r = await small.run({ cmd: 'printf', args: ['0123456789abcdef'] });
      expect(r.stdout).toBe('6789abcdef');
    });

    it('survives a child that exits without reading its input', async () => {
      const r = await runner.run({ cmd: 'true', args: [], input: 'x'.repeat(4_000_000) });
      expect(r.exitCode).toBe(0);
    });
  });

  describe('environment', () => {
    it('sets LC_ALL and LANG to C.UTF-8', async () => {
      const r = await runner.run({ cmd: 'sh', args: ['-c', 'echo "$LC_ALL $LANG"'] });
      expect(r.stdout).toBe('C.UTF-8 C.UTF-8\n');
    });

    it('does not let the base environment change the locale', async () => {
      const fr = new NodeCommandRunner({ baseEnv: { PATH, LC_ALL: 'fr_FR.UTF-8', LANG: 'fr_FR.UTF-8' } });
      const r = await fr.run({ cmd: 'sh', args: ['-c', 'echo "$LC_ALL $LANG"'] });
      expect(r.stdout).toBe('C.UTF-8 C.UTF-8\n');
    });

    it('merges command.env over baseEnv', async () => {
      const base = new NodeCommandRunner({ baseEnv: { PATH, FOO: 'base-foo', BAR: 'base-bar' } });
      const r = await base.run({ cmd: 'sh', args: ['-c', 'echo "$FOO $BAR $BAZ"'], env: { BAR: 'cmd-bar', BAZ: 'cmd-baz' } });
      expect(r.stdout).toBe('base-foo cmd-bar cmd-baz\n');
    });

    it("passes only baseEnv, not the caller's own environment", async () => {
      const r = await runner.run({ cmd: 'sh', args: ['-c', 'echo "${HOME-unset}"'] });
      expect(r.stdout).toBe('unset\n');
    });

    it('leaves out baseEnv entries that are undefined', async () => {
      const base = new NodeCommandRunner({ baseEnv: { PATH, GONE: undefined } });
      const r = await base.run({ cmd: 'sh', args: ['-c', 'echo "${GONE-unset}"'] });
      expect(r.stdout).toBe('unset\n');
    });
  });

  describe('time-out and abort', () => {
    it('kills a process past command.timeoutMs with SIGTERM', async () => {
      const r = await runner.run({ cmd: 'sleep', args: ['30'], timeoutMs: 100 });
      expect(r).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: true, aborted: false });
      expect(r.durationMs).toBeLessThan(5_000);
      expect(new CommandFailedError(r).message).toBe('sleep timed out');
    });

    it('lets options.timeoutMs override command.timeoutMs', async () => {
      const r = await runner.run({ cmd: 'sleep', args: ['30'], timeoutMs: 60_000 }, { timeoutMs: 100 });
      expect(r).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: true });
    });

    it('does not flag a process that ends within its time-out', async () => {
      const r = await runner.run({ cmd: 'true', args: [], timeoutMs: 10_000 });
      expect(r).toMatchObject({ exitCode: 0, timedOut: false });
    });

    it('kills the process when the signal aborts', async () => {
      const ac = new AbortController();
      const r = await runner.run(
        { cmd: 'sh', args: ['-c', 'echo ready; exec sleep 30'] },
        { signal: ac.signal, onStdout: abortOn('ready', ac) },
      );
      expect(r).toMatchObject({ exitCode: null, signal: 'SIGTERM', aborted: true, timedOut: false, stdout: 'ready\n' });
      expect(new CommandFailedError(r).message).toBe('sh was cancelled');
    });

    it('kills at once when the signal is already aborted', async () => {
      const ac = new AbortController();
      ac.abort();
      const r = await runner.run({ cmd: 'sleep', args: ['30'] }, { signal: ac.signal });
      expect(r).toMatchObject({ exitCode: null, signal: 'SIGTERM', aborted: true });
    });

    it('sends SIGKILL after killGraceMs to a process that ignores SIGTERM', async () => {
      const ac = new AbortController();
      // exec keeps the ignored SIGTERM disposition and leaves no shell between us and sleep
      const r = await runner.run(
        { cmd: 'sh', args: ['-c', 'trap "" TERM; echo ready; exec sleep 30'] },
        { signal: ac.signal, onStdout: abortOn('ready', ac) },
      );
      expect(r).toMatchObject({ exitCode: null, signal: 'SIGKILL', aborted: true });
      expect(r.durationMs).toBeGreaterThanOrEqual(195);
      expect(r.durationMs).toBeLessThan(5_000);
    });

    it('bounds the run by the time-out even when the command forked children', async () => {
      const r = await runner.run({ cmd: 'sh', args: ['-c', 'sleep 3; echo done'], timeoutMs: 100 });
      expect(r.timedOut).toBe(true);
      expect(r.durationMs).toBeLessThan(1_000);
    });
  });

  describe('a program that cannot start', () => {
    it('resolves with spawnError and no exit code', async () => {
      const r = await runner.run({ cmd: '/nonexistent/virtfleet-tool', args: ['--version'] });
      expect(r).toMatchObject({
        argv: ['/nonexistent/virtfleet-tool', '--version'],
        exitCode: null,
        signal: null,
        stdout: '',
        stderr: '',
        timedOut: false,
        aborted: false,
      });
      expect(r.spawnError).toBe('ENOENT: spawn /nonexistent/virtfleet-tool ENOENT');
      expect(new CommandFailedError(r).message).toBe(
        '/nonexistent/virtfleet-tool could not start: ENOENT: spawn /nonexistent/virtfleet-tool ENOENT',
      );
    });

    it('resolves with spawnError when input was given too', async () => {
      const r = await runner.run({ cmd: '/nonexistent/virtfleet-tool', args: [], input: 'data' });
      expect(r.exitCode).toBeNull();
      expect(r.spawnError).toMatch(/^ENOENT: /);
    });
  });
});
