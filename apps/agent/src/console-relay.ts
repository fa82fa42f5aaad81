import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ReadStream } from 'node:tty';
import { consoleChannels } from '@virtfleet/contracts';
import type { CommandRunner } from '@virtfleet/exec';
import { readDomain, virsh } from '@virtfleet/libvirt';
import { connectRedis, type RedisConnection } from '@virtfleet/redis';
import type { Logger } from 'pino';
import { z } from 'zod';

const ctlMessage = z.discriminatedUnion('op', [
  z.object({ op: z.literal('open'), session: z.uuid(), uuid: z.guid() }),
  z.object({ op: z.literal('close'), session: z.uuid() }),
]);

interface Session {
  fh: FileHandle;
  stream: ReadStream;
}

/** How much of the console log a new session sees first (the boot so far). */
const HISTORY_BYTES = 16 * 1024;

/**
 * The agent's half of the serial console (virsh console, through the API): for each session it
 * opens the domain's pty (virsh ttyconsole), sends the recent console log, then relays bytes
 * both ways over Redis pub/sub on this host's console channels.
 */
export class ConsoleRelay {
  private sub: RedisConnection | undefined;
  private pub: RedisConnection | undefined;
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly o: { hostId: string; redisUrl: string; uri: string; runner: CommandRunner; log: Logger },
  ) {}

  async start(): Promise<void> {
    this.pub = connectRedis(this.o.redisUrl, { maxRetriesPerRequest: null });
    this.sub = connectRedis(this.o.redisUrl, { maxRetriesPerRequest: null });
    for (const r of [this.pub, this.sub]) r.on('error', (err: Error) => this.o.log.warn({ err: err.message }, 'console channel error'));
    this.sub.on('messageBuffer', (channel: Buffer, data: Buffer) => void this.onMessage(channel.toString(), data));
    await this.sub.subscribe(consoleChannels(this.o.hostId).ctl);
  }

  async stop(): Promise<void> {
    for (const id of [...this.sessions.keys()]) await this.close(id);
    this.sub?.disconnect();
    this.pub?.disconnect();
  }

  private async onMessage(channel: string, data: Buffer): Promise<void> {
    const ch = consoleChannels(this.o.hostId);
    if (channel !== ch.ctl) {
      const session = channel.split(':')[3] ?? '';
      await this.sessions.get(session)?.fh.write(data).catch(() => undefined);
      return;
    }
    let msg;
    try {
      msg = ctlMessage.parse(JSON.parse(data.toString()));
    } catch {
      return;
    }
    if (msg.op === 'close') return this.close(msg.session);
    await this.open(msg.session, msg.uuid).catch((err: Error) => {
      this.o.log.warn({ session: msg.session, err: err.message }, 'console not opened');
      void this.pub?.publish(consoleChannels(this.o.hostId, msg.session).state, `closed: ${err.message}`);
    });
  }

  private async open(session: string, uuid: string): Promise<void> {
    const ch = consoleChannels(this.o.hostId, session);
    const run = (cmd: Parameters<CommandRunner['run']>[0]) => this.o.runner.run(cmd);
    const tty = await run(virsh(this.o.uri, 'ttyconsole', '--domain', uuid));
    const pty = tty.stdout.trim();
    if (tty.exitCode !== 0 || !/^\/dev\/pts\/\d+$/.test(pty)) throw new Error(tty.stderr.trim() || 'the domain has no pty console');
    const dom = await readDomain(run, this.o.uri, { uuid });
    if (dom?.serialLog) {
      const history = await tailOf(dom.serialLog, HISTORY_BYTES);
      if (history.length) await this.pub?.publish(ch.out, history);
    }
    // O_NOCTTY: an agent that leads its session (setsid: `npm run up`, systemd) would otherwise take
    // the guest's pty as its controlling terminal, and die of the SIGHUP when the guest stops.
    const fh = await open(pty, constants.O_RDWR | constants.O_NOCTTY);
    const stream = new ReadStream(fh.fd);
    // Raw and without echo: the guest's output must not come back to it as input.
    stream.setRawMode(true);
    stream.on('data', (chunk: Buffer) => void this.pub?.publish(ch.out, chunk).catch(() => undefined));
    const ended = (why: string) => {
      void this.pub?.publish(ch.state, `closed: ${why}`);
      void this.close(session);
    };
    stream.on('error', (err: Error) => ended(err.message));
    stream.on('end', () => ended('the console ended (domain stopped?)'));
    this.sessions.set(session, { fh, stream });
    await this.sub?.subscribe(ch.in);
    await this.pub?.publish(ch.state, 'open');
    this.o.log.info({ session, uuid, pty }, 'console opened');
  }

  private async close(session: string): Promise<void> {
    const s = this.sessions.get(session);
    if (!s) return;
    this.sessions.delete(session);
    await this.sub?.unsubscribe(consoleChannels(this.o.hostId, session).in).catch(() => undefined);
    s.stream.destroy();
    await s.fh.close().catch(() => undefined);
  }
}

async function tailOf(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return Buffer.alloc(0);
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    return buf;
  } finally {
    await fh.close();
  }
}
