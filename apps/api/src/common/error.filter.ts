import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import { Prisma } from '@prisma/client';
import type { FastifyReply } from 'fastify';
import { DatabaseUnavailableError } from '../db/pg.service';

// Prisma's codes for "the database is not there right now" (not "your request is wrong").
const DB_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof Prisma.PrismaClientKnownRequestError) return DB_UNAVAILABLE.has(err.code);
  return err instanceof Prisma.PrismaClientInitializationError || err instanceof DatabaseUnavailableError;
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
};

/** Shapes every error as { error: { code, message, details? } }; a 500 never leaks internals. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('ErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      // Ours (ApiError) already has { error: { code, message } }; Nest's own ({ message, error: 'Not Found', statusCode }) is reshaped.
      if (typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'object') {
        void reply.status(status).send(body);
        return;
      }
      const message = typeof body === 'string' ? body : ((body as { message?: unknown }).message ?? exception.message);
      void reply.status(status).send({
        error: { code: CODE_BY_STATUS[status] ?? 'error', message: Array.isArray(message) ? message.join('; ') : String(message) },
      });
      return;
    }
    if (isDatabaseUnavailable(exception)) {
      // A database outage is a 503 the client may retry — never a 404 or a 500.
      void reply
        .status(503)
        .header('retry-after', '2')
        .send({ error: { code: 'database_unavailable', message: 'PostgreSQL is not reachable; retry shortly' } });
      return;
    }
    const fastifyStatus = (exception as { statusCode?: unknown }).statusCode;
    if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      // e.g. a body that is not JSON
      void reply.status(fastifyStatus).send({
        error: { code: CODE_BY_STATUS[fastifyStatus] ?? 'bad_request', message: (exception as Error).message },
      });
      return;
    }
    this.log.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    void reply.status(500).send({ error: { code: 'internal_error', message: 'internal error; see the API log' } });
  }
}
