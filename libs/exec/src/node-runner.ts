import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { shownArgvOf, type Command, type CommandResult, type CommandRunner, type RunOptions } from './command';

export interface NodeRunnerOptions {
  /** The environment every command starts from (the caller's config decides; libs/exec reads no env). */
  readonly baseEnv: Readonly<Record<string, string | undefined>>;
  /** SIGTERM → SIGKILL grace on abort or time-out. */
  readonly killGraceMs?: number;
  /** Output kept in memory per stream; the head is dropped past this. */
  readonly maxOutputBytes?: number;
}

// Tools print machine-readable output and no translated garbage under this locale
// (the operation guide: virt-install fails or prints garbage under other locales).
const FIXED_ENV = { LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' };

export class NodeCommandRunner implements CommandRunner {
  private readonly killGraceMs: number;
  private readonly maxOutput: number;

  constructor(private readonly options: NodeRunnerOptions) {
    this.killGraceMs = options.killGraceMs ?? 5_000;
    this.maxOutput = options.maxOutputBytes ?? 16 * 1024 * 1024;
  }

  run(command: Command, opts: RunOptions = {}): Promise<CommandResult> {
    const argv = shownArgvOf(command);
    const startedAt = new Date();
    const t0 = performance.now();
    const timeoutMs = opts.timeoutMs ?? command.timeoutMs;
    return new Promise<CommandResult>((resolve) => {
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      let aborted = false;
      let spawnError: string | undefined;
      let killTimer: NodeJS.Timeout | undefined;

      const child = spawn(command.cmd, command.args, {
        env: { ...this.options.baseEnv, ...FIXED_ENV, ...command.env },
        stdio: [command.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        shell: false,
        // Its own process group, so a kill reaches whatever the tool forked as well.
        detached: true,
      });

      const signalGroup = (sig: NodeJS.Signals) => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, sig);
        } catch {
          child.kill(sig); // the group is gone already
        }
      };
      const stop = () => {
        if (killTimer) return;
        signalGroup('SIGTERM');
        killTimer = setTimeout(() => signalGroup('SIGKILL'), this.killGraceMs);
        killTimer.unref();
      };
      const onAbort = () => {
        aborted = true;
        stop();
      };
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      const timer =
        timeoutMs !== undefined
          ? setTimeout(() => {
              timedOut = true;
              stop();
            }, timeoutMs)
          : undefined;

      const outDec = new StringDecoder('utf8');
      const errDec = new StringDecoder('utf8');
      const keep = (acc: string, chunk: string) => {
        const next = acc + chunk;
        return next.length > this.maxOutput ? next.slice(next.length - this.maxOutput) : next;
      };
      child.stdout?.on('data', (b: Buffer) => {
        const s = outDec.write(b);
        stdout = keep(stdout, s);
        opts.onStdout?.(s);
      });
      child.stderr?.on('data', (b: Buffer) => {
        const s = errDec.write(b);
        stderr = keep(stderr, s);
        opts.onStderr?.(s);
      });
      // A tool may exit without reading all its input: EPIPE then is its business, not ours.
      child.stdin?.on('error', () => undefined);
      if (command.input !== undefined) child.stdin?.end(command.input);

      child.on('error', (err: NodeJS.ErrnoException) => {
        spawnError = err.code ? `${err.code}: ${err.message}` : err.message;
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        opts.signal?.removeEventListener('abort', onAbort);
        stdout += outDec.end();
        stderr += errDec.end();
        resolve({
          argv,
          exitCode: spawnError ? null : code,
          signal: signal ?? null,
          stdout,
          stderr,
          startedAt,
          durationMs: Math.round(performance.now() - t0),
          timedOut,
          aborted,
          ...(spawnError ? { spawnError } : {}),
        });
      });
    });
  }
}
