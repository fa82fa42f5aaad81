import { argvOf, shownArgvOf, type Command, type CommandResult, type CommandRunner, type RunOptions } from './command';

export interface FakeOutcome {
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
  signal?: string | null;
  spawnError?: string;
}
type Responder = (argv: readonly string[], options: RunOptions) => FakeOutcome | Promise<FakeOutcome>;

/**
 * A CommandRunner for unit tests: records every argv and answers from scripted responders.
 * An argv nobody answers for fails the test loudly instead of passing silently.
 */
export class FakeRunner implements CommandRunner {
  readonly calls: string[][] = [];
  private readonly responders: Array<{ match: (argv: readonly string[]) => boolean; respond: Responder }> = [];

  /** Answer commands whose argv starts with `prefix` (later registrations win). */
  on(prefix: readonly string[] | string, respond: Responder | FakeOutcome): this {
    const want = typeof prefix === 'string' ? [prefix] : prefix;
    this.responders.unshift({
      match: (argv) => want.every((w, i) => argv[i] === w),
      respond: typeof respond === 'function' ? respond : () => respond,
    });
    return this;
  }

  async run(command: Command, options: RunOptions = {}): Promise<CommandResult> {
    const argv = argvOf(command);
    this.calls.push(argv);
    const responder = this.responders.find((r) => r.match(argv));
    if (!responder) throw new Error(`FakeRunner: no responder for ${JSON.stringify(argv)}`);
    const out = await responder.respond(argv, options);
    if (out.stdout) options.onStdout?.(out.stdout);
    if (out.stderr) options.onStderr?.(out.stderr);
    return {
      argv: shownArgvOf(command),
      exitCode: out.spawnError ? null : out.exitCode === undefined ? 0 : out.exitCode,
      signal: out.signal ?? null,
      stdout: out.stdout ?? '',
      stderr: out.stderr ?? '',
      startedAt: new Date(),
      durationMs: 1,
      timedOut: false,
      aborted: options.signal?.aborted ?? false,
      ...(out.spawnError ? { spawnError: out.spawnError } : {}),
    };
  }
}
