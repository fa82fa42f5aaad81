/** A process to run: a program and its argv, never a shell string. Built by libs/libvirt, run by a CommandRunner. */
export interface Command {
  readonly cmd: string;
  readonly args: readonly string[];
  /** Extra environment on top of the runner's base environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly input?: string;
  /** Values in the argv (a VNC password …) shown as *** wherever the command is reported or logged. */
  readonly secrets?: readonly string[];
}

export interface RunOptions {
  /** Abort kills the process (SIGTERM, then SIGKILL after the grace period). */
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  readonly onStdout?: (chunk: string) => void;
  readonly onStderr?: (chunk: string) => void;
}

export interface CommandResult {
  readonly argv: readonly string[];
  /** null when the process did not exit by itself (signal) or never started. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** Set when the program could not be started at all (e.g. ENOENT). */
  readonly spawnError?: string;
}

export interface CommandRunner {
  /** Runs to the end and resolves whatever the exit code; never rejects for a failing command. */
  run(command: Command, options?: RunOptions): Promise<CommandResult>;
}

export function argvOf(command: Command): string[] {
  return [command.cmd, ...command.args];
}

/** The argv as results, logs and errors show it: secrets masked. */
export function shownArgvOf(command: Command): string[] {
  const secrets = (command.secrets ?? []).filter((s) => s.length > 0);
  const argv = argvOf(command);
  return secrets.length ? argv.map((a) => secrets.reduce((x, s) => x.split(s).join('***'), a)) : argv;
}

/** The last `max` characters, cut at a line start where possible. */
export function tail(text: string, max = 4000): string {
  if (text.length <= max) return text;
  const cut = text.slice(text.length - max);
  const nl = cut.indexOf('\n');
  return nl >= 0 && nl < max / 4 ? cut.slice(nl + 1) : cut;
}

/** Thrown by callers that need success: carries what an operator needs to see. */
export class CommandFailedError extends Error {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderrTail: string;
  readonly timedOut: boolean;
  readonly aborted: boolean;

  constructor(result: CommandResult) {
    const why = result.spawnError
      ? `could not start: ${result.spawnError}`
      : result.timedOut
        ? 'timed out'
        : result.aborted
          ? 'was cancelled'
          : result.exitCode !== null
            ? `exited with code ${result.exitCode}`
            : `was killed by ${result.signal}`;
    const lastLine = tail(result.stderr.trim(), 300).split('\n').pop() ?? '';
    super(`${result.argv[0]} ${why}${lastLine ? `: ${lastLine}` : ''}`);
    this.name = 'CommandFailedError';
    this.argv = result.argv;
    this.exitCode = result.exitCode;
    this.signal = result.signal;
    this.stderrTail = tail(result.stderr || result.spawnError || '', 2000);
    this.timedOut = result.timedOut;
    this.aborted = result.aborted;
  }
}

/** Success is exit 0 of a command that was neither timed out nor cancelled. */
export function assertSucceeded(result: CommandResult): CommandResult {
  if (result.exitCode !== 0 || result.timedOut || result.aborted) throw new CommandFailedError(result);
  return result;
}
