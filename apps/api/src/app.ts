import { ConsoleLogger, Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import fastifyWebsocket from '@fastify/websocket';
import { AppModule } from './app.module';
import { MetricsService } from './metrics/metrics.service';
import { ConsoleService } from './vms/console.service';
import type { ApiConfig } from './config/api.config';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

function logger(level: ApiConfig['logLevel']): ConsoleLogger | false {
  if (level === 'silent') return false;
  const upto = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 }[level];
  // One JSON object per line (like the agent's pino logs) unless a person is watching a terminal.
  return new ConsoleLogger({ logLevels: LEVELS.slice(0, upto + 1), json: !process.stdout.isTTY, colors: process.stdout.isTTY });
}

/** Builds the API (used by main.ts and by the tests, which listen on port 0). */
export async function createApp(config: ApiConfig): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forConfig(config),
    // A full inventory of a host with 1,000+ domains (their XML included) is several MiB.
    new FastifyAdapter({ bodyLimit: 64 * 1024 * 1024 }),
    { logger: logger(config.logLevel), abortOnError: false },
  );
  app.enableShutdownHooks();
  timeRequests(app);
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
