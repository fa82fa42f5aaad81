import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * What a load balancer in front of several API replicas does, for tests: each TCP connection goes
 * to the next backend in turn; a backend that refuses the connection (its replica is dead) is
 * skipped for that connection. Connections already open to a replica that dies are closed, as a
 * real balancer's are: clients retry on a new one.
 */
export class TcpBalancer {
  private next = 0;
  private readonly open = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly backends: number[],
  ) {}

  static async start(backends: number[]): Promise<TcpBalancer> {
    const holder: { lb?: TcpBalancer } = {};
    const server = createServer((client) => holder.lb?.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    holder.lb = new TcpBalancer(server, `http://127.0.0.1:${port}`, backends);
    return holder.lb;
  }

  private accept(client: Socket, tried = 0): void {
    if (tried >= this.backends.length) return void client.destroy();
    const port = this.backends[this.next++ % this.backends.length] ?? 0;
    const upstream = createConnection({ port, host: '127.0.0.1' });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.open.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
    });
    upstream.on('error', () => {
      if (!connected) return this.accept(client, tried + 1);
      client.destroy();
    });
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => {
      this.open.delete(upstream);
      if (connected) client.destroy();
    });
    client.on('close', () => {
      this.open.delete(client);
      upstream.destroy();
    });
  }

  async stop(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
