import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** The header a client may name its request with; the API answers it on every response. */
export const REQUEST_ID_HEADER = 'x-request-id';

const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id of a request: the client's `x-request-id` when it is 1–128 characters of
 * [A-Za-z0-9._:-] (so it is safe in a log line and a header), a new UUID otherwise.
 */
export function requestIdFrom(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given !== undefined && VALID.test(given) ? given : randomUUID();
}

const context = new AsyncLocalStorage<{ requestId: string }>();

/** The id of the request this code runs for (its handler and everything it awaits), if any. */
export function currentRequestId(): string | undefined {
  return context.getStore()?.requestId;
}

/**
 * Every response carries the request's id (Fastify's `req.id`, from the FastifyAdapter's
 * `genReqId: (req) => requestIdFrom(req.headers['x-request-id'])`), and the route handler runs with it
 * in the async context: log lines get it, and jobs the request submits store it. The context is
 * entered in preHandler, not onRequest: the handler is called from within that hook's `done`,
 * while the body's stream events would have lost a context entered before parsing.
 */
export function registerRequestIds(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, req.id);
    done();
  });
  fastify.addHook('preHandler', (req, _reply, done) => context.run({ requestId: req.id }, done));
}
