import type { DomainInventory, InventoryAnswer, InventoryReport, IsoFile, StoreDisk } from '@virtfleet/contracts';
import type { CommandRunner } from '@virtfleet/exec';
import { collectInventory, parseVirshEventLine, readDomain, virshEventLoop } from '@virtfleet/libvirt';
import type { Logger } from 'pino';

export interface InventorySink {
  inventory(report: InventoryReport): Promise<InventoryAnswer>;
}

export interface InventoryReporterOptions {
  runner: CommandRunner;
  uri: string;
  sink: InventorySink;
  log: Logger;
  /** A full snapshot this often (and at start, and after the event stream broke). */
  intervalMs: number;
  /** Events about one domain within this window are read once. */
  debounceMs?: number;
  /** The store and iso roots' contents, sent after each full inventory. */
  storage?: () => Promise<{ disks: StoreDisk[]; isos: IsoFile[] }>;
}

/**
 * Tells the API the truth about the host's libvirt objects: a full snapshot at start and every
 * interval, and each domain again as libvirt events about it arrive (virsh event --loop), so an
 * out-of-band `virsh destroy` shows within a second or two. Reports go one at a time, in order.
 */
export class InventoryReporter {
  private chain: Promise<void> = Promise.resolve();
  private readonly debounce = new Map<string, NodeJS.Timeout>();
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private watching: Promise<void> | undefined;

  constructor(private readonly o: InventoryReporterOptions) {}

  start(): void {
    void this.full();
    this.timer = setInterval(() => void this.full(), this.o.intervalMs);
    this.watching = this.watchEvents();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    for (const t of this.debounce.values()) clearTimeout(t);
    await this.watching;
  }

  /** The whole host, in a few virsh calls whatever the number of domains. */
  full(): Promise<void> {
    return this.enqueue('full inventory', async () => {
      const takenAt = new Date().toISOString();
      const inv = await collectInventory((cmd) => this.o.runner.run(cmd, { signal: this.stopping.signal }), this.o.uri);
      if (this.stopping.signal.aborted) return;
      const answer = await this.o.sink.inventory({ kind: 'full', takenAt, ...inv });
      this.o.log.debug({ domains: inv.domains.length, changed: answer.changed }, 'full inventory sent');
    }).then(() => this.storage());
  }

  /** The roots' disks and install media: after the domains, so a big store never delays them. */
  storage(): Promise<void> {
    const scan = this.o.storage;
    if (!scan) return Promise.resolve();
    return this.enqueue('storage scan', async () => {
      const takenAt = new Date().toISOString();
      const found = await scan();
      if (!this.stopping.signal.aborted) await this.o.sink.inventory({ kind: 'storage', takenAt, ...found });
    });
  }

  /** A domain (by libvirt name) may have changed: read it again soon. */
  domainChanged(name: string): void {
    clearTimeout(this.debounce.get(name));
    const t = setTimeout(() => {
      this.debounce.delete(name);
      void this.enqueue(`domain ${name}`, () => this.sendDomain(name));
    }, this.o.debounceMs ?? 50);
    this.debounce.set(name, t);
  }

  /** A job read the domain already: pass it on without reading it again (resolves once sent). */
  domainRead(domain: DomainInventory, takenAt: string): Promise<void> {
    return this.enqueue(`domain ${domain.name}`, async () => {
      await this.o.sink.inventory({ kind: 'domain', takenAt, domain });
    });
  }

  private async sendDomain(name: string): Promise<void> {
    const takenAt = new Date().toISOString();
    const domain = await readDomain((cmd) => this.o.runner.run(cmd, { signal: this.stopping.signal }), this.o.uri, { name });
    if (this.stopping.signal.aborted) return;
    await this.o.sink.inventory(domain ? { kind: 'domain', takenAt, domain } : { kind: 'domain-gone', takenAt, name });
  }

  private enqueue(what: string, fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn).catch((err: Error) => {
      if (!this.stopping.signal.aborted) this.o.log.warn({ err: err.message }, `${what} not reported`);
    });
    return this.chain;
  }

  /** Follows libvirt's event stream; when it breaks (libvirtd restarted), resyncs and follows again. */
  private async watchEvents(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let partial = '';
      const res = await this.o.runner.run(virshEventLoop(this.o.uri), {
        signal,
        onStdout: (chunk) => {
          const lines = (partial + chunk).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            const ev = parseVirshEventLine(line);
            if (ev?.domain) this.domainChanged(ev.domain);
          }
        },
      });
      if (signal.aborted) return;
      this.o.log.warn({ exitCode: res.exitCode, stderr: res.stderr.slice(-300) }, 'libvirt event stream ended; resyncing');
      await new Promise((r) => setTimeout(r, 1_000));
      void this.full();
    }
  }
}
