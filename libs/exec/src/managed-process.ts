import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface ManagedProcessOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** stdout and stderr go to this file (appended). */
  readonly logFile: string;
  readonly cwd?: string;
}

/** A long-running child (a service in tests or the dev fleet), stopped by signal with a deadline. */
export class ManagedProcess {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private done = false;

  private constructor(private readonly child: ReturnType<typeof spawn>) {
    if (child.pid === undefined) {
      child.on('error', () => undefined); // the ENOENT that follows: reported by the throw below
      throw new Error('process did not start');
    }
    child.on('error', () => undefined); // a failed kill(); exit is reported through `exited`
    this.pid = child.pid;
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.done = true;
        resolve({ code, signal });
      }),
    );
  }

  static start(cmd: string, args: readonly string[], opts: ManagedProcessOptions): ManagedProcess {
    const fd = openSync(opts.logFile, 'a');
    try {
      const child = spawn(cmd, args, { env: { ...opts.env }, stdio: ['ignore', fd, fd], cwd: opts.cwd, shell: false });
      return new ManagedProcess(child);
    } finally {
      closeSync(fd);
    }
  }

  get running(): boolean {
    return !this.done;
  }

  /** SIGTERM, then SIGKILL when `graceMs` passes. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.done) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.done) this.child.kill(signal);
  }
}
