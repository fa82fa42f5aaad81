import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import fastifyWebsocket from '@fastify/websocket';
import type { IncomingHttpHeaders } from 'node:http';
import type { DestinationStream, Logger as Pino } from 'pino';
import { AppModule } from './app.module';
import { PinoNestLogger, apiLogger } from './common/logger';
import { REQUEST_ID_HEADER, registerRequestIds, requestIdFrom } from './common/request-id';
import { MetricsService } from './metrics/metrics.service';
import { ConsoleService } from './vms/console.service';
import { registerWebConsole } from './web/web-console';
import type { ApiConfig } from './config/api.config';

/**
 * Builds the API (used by main.ts and by the tests, which listen on port 0). Logs are JSON lines
 * (pino) on stdout, or on `logTo` (tests that read them). The web console is served at / from
 * `webRoot` (default: dist/web, see web/web-console.ts).
 */
export async function createApp(config: ApiConfig, opts: { logTo?: DestinationStream; webRoot?: string } = {}): Promise<NestFastifyApplication> {
  const log = apiLogger(config.logLevel, opts.logTo);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forConfig(config),
    new FastifyAdapter({
      // A full inventory of a host with 1,000+ domains (their XML included) is several MiB.
      bodyLimit: 64 * 1024 * 1024,
      // The client's x-request-id when it is a sane one, a new UUID otherwise (common/request-id.ts).
      genReqId: (req: { headers: IncomingHttpHeaders }) => requestIdFrom(req.headers[REQUEST_ID_HEADER]),
    }),
    { logger: new PinoNestLogger(log), abortOnError: false },
  );
  app.enableShutdownHooks();
  registerRequestIds(app.getHttpAdapter().getInstance());
  timeRequests(app);
  logRequests(app, log.child({ context: 'http' }));
  await registerConsoleRoute(app);
  const doc = new DocumentBuilder()
    .setTitle('virtfleet API')
    .setDescription(
      'Runs a fleet of KVM hosts as one system. Every call that changes a host answers 202 with a job and Location: /v1/jobs/<id>.',
    )
    .setVersion('1')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), { jsonDocumentUrl: 'docs-json' });
  await registerWebConsole(app, opts.webRoot);
  return app;
}

/** Every answered request into virtfleet_http_request_duration_seconds, by its route's pattern (not its path: ids would explode the series). */
function timeRequests(app: NestFastifyApplication): void {
  const metrics = app.get(MetricsService);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', (req, reply, done) => {
      metrics.observeHttp(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
}

/** What agents, probes and scrapers send every few seconds: their request lines are debug, not info. */
const ROUTINE = /^\/(v1\/agent\/(reports|heartbeat|inventory)|metrics|healthz|readyz)(\?|$)/;

/**
 * One line per answered request: its id, method, route, status and time. A request about one
 * job (/v1/jobs/:id…) names it in `jobId`.
 */
function logRequests(app: NestFastifyApplication, log: Pino): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', (req, reply, done) => {
      const status = reply.statusCode;
      const level = status >= 500 ? 'warn' : ROUTINE.test(req.url) ? 'debug' : 'info';
      if (log.isLevelEnabled(level)) {
        const route = req.routeOptions.url;
        const id = (req.params as { id?: unknown } | undefined)?.id;
        const jobId = route?.startsWith('/v1/jobs/:id') && typeof id === 'string' ? { jobId: id } : {};
        // The path without its query (the console's WebSocket may carry a token there).
        const path = req.url.split('?')[0];
        log[level]({ requestId: req.id, method: req.method, path, route, status, ms: Math.round(reply.elapsedTime), ...jobId }, 'request');
      }
      done();
    });
}

/** The serial console is a WebSocket: a plain Fastify route beside Nest's (Nest's guards do not see it). */
async function registerConsoleRoute(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(fastifyWebsocket);
  const consoles = app.get(ConsoleService);
  fastify.get<{ Params: { id: string }; Querystring: { token?: string } }>('/v1/vms/:id/console', { websocket: true }, (socket, req) => {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : req.query.token;
    void consoles.attach(socket, req.params.id, token).catch(() => socket.close(1011, 'console unavailable'));
  });
}

export async function listen(app: NestFastifyApplication, config: ApiConfig): Promise<string> {
  await app.listen(config.port, config.host);
  const url = await app.getUrl();
  new Logger('virtfleet').log(`API listening on ${url}`);
  return url;
}
