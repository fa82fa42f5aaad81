import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Level, type LevelWithSilent, type Logger as Pino } from 'pino';
import { currentRequestId } from './request-id';

/**
 * A structured log line: `msg` and fields. Any Nest logger takes one in place of a string
 * (`this.log.warn(jobLine(job, 'stays pending', { err: e.message }))`); the fields become
 * fields of the JSON line.
 */
export interface LogLine {
  msg: string;
  [field: string]: unknown;
}

/** Enough of a job row (or view) to say which job a line is about. */
export interface JobRef {
  id: string;
  hostId?: string | null;
  requestId?: string | null;
}

/**
 * The fields every line about a job carries: jobId, hostId when known, and the id of the request
 * that submitted the job. Never another request's: a line about a job written while an agent's
 * report is handled does not take that report's id (undefined: pino leaves the field out).
 */
export function jobFields(job: JobRef): { jobId: string; hostId?: string; requestId: string | undefined } {
  return { jobId: job.id, ...(job.hostId ? { hostId: job.hostId } : {}), requestId: job.requestId ?? undefined };
}

/** A line about a job: `log.warn(jobLine(job, 'stays pending', { err }))`. */
export function jobLine(job: JobRef, msg: string, fields: Record<string, unknown> = {}): LogLine {
  return { msg, ...jobFields(job), ...fields };
}

const LABELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A person at a terminal reads `time LEVEL [context] msg {other fields}` instead of JSON. */
function readable(out: NodeJS.WritableStream): DestinationStream {
  return {
    write(line: string) {
      const { level, time, msg, context, ...rest } = JSON.parse(line) as Record<string, unknown>;
      for (const k of ['pid', 'hostname', 'name']) delete rest[k];
      const fields = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
      out.write(`${new Date(time as number).toISOString()} ${LABELS[level as number] ?? String(level)} ${context ? `[${String(context)}] ` : ''}${String(msg ?? '')}${fields}\n`);
    },
  };
}

/**
 * The API's one pino logger: one JSON object per line on stdout (readable text when stdout is a
 * terminal), or on `destination` (the tests). A line written while a request is handled carries
 * its `requestId` unless the line names one itself (a job's).
 */
export function apiLogger(level: LevelWithSilent, destination?: DestinationStream): Pino {
  const options = {
    name: 'virtfleet-api',
    level,
    mixin: () => {
      const requestId = currentRequestId();
      return requestId ? { requestId } : {};
    },
  };
  if (destination) return pino(options, destination);
  return process.stdout.isTTY ? pino(options, readable(process.stdout)) : pino(options);
}

const STACK = /\n\s+at /;

/**
 * Nest's LoggerService over pino: Nest's log/verbose become info/trace, its context (the name a
 * `new Logger('Dispatcher')` was given) the `context` field. A message may be a LogLine (fields
 * and `msg`) or an Error (`err`, with its stack).
 */
export class PinoNestLogger implements LoggerService {
  constructor(readonly pino: Pino) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const args = [...params];
    // Nest passes the context last (a Logger made with one always does).
    let context = args.length && typeof args[args.length - 1] === 'string' ? (args.pop() as string) : undefined;
    const fields: Record<string, unknown> = {};
    if (level === 'error' || level === 'fatal') {
      // error(message, stack?, context?): a lone string that is a stack trace is no context.
      if (context !== undefined && !args.length && STACK.test(context)) {
        args.push(context);
        context = undefined;
      }
      const stack = args.shift();
      if (typeof stack === 'string') fields['stack'] = stack;
    }
    if (context !== undefined) fields['context'] = context;
    let msg: string;
    if (message instanceof Error) {
      fields['err'] = message;
      msg = message.message;
    } else if (message !== null && typeof message === 'object') {
      const { msg: m, message: mm, ...rest } = message as Record<string, unknown>;
      Object.assign(fields, rest);
      msg = String(m ?? mm ?? '');
    } else {
      msg = String(message);
    }
    const extra = args.filter((a) => a !== undefined);
    if (extra.length) fields['args'] = extra;
    this.pino[level](fields, msg);
  }
}
