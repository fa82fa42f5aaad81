import type { DomainInventory, InventoryAnswer, InventoryReport, IsoFile, StoreDisk } from '@virtfleet/contracts';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import type { Command, CommandRunner } from '@virtfleet/exec';
import { collectInventory, type HostInventory, parseVirshEventLine, readDomain, virshEventLoop, virshNetworkEventLoop } from '@virtfleet/libvirt';
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
  /**
   * libvirt's dnsmasq lease files (qemu:///system: /var/lib/libvirt/dnsmasq): a change there is a
   * new or expired DHCP lease, and the next full inventory carries it to the API.
   */
  leaseDir?: string;
  /**
   * A simulated host (`virtfleet-agent simulate`, for benchmarks): its inventory comes from here,
   * not from virsh, and no libvirt event streams are followed.
   */
  simulated?: () => HostInventory;
}

/**
 * Tells the API the truth about the host's libvirt objects: a full snapshot at start and every
 * interval, and each domain again as libvirt events about it arrive (virsh event --loop), so an
 * out-of-band `virsh destroy` shows within a second or two. Network events (virsh net-event) and
 * DHCP lease changes bring a full snapshot forward (networks and addresses are part of it).
 * Reports go one at a time, in order.
 */
export class InventoryReporter {
  private chain: Promise<void> = Promise.resolve();
  private readonly debounce = new Map<string, NodeJS.Timeout>();
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private watching: Promise<void>[] = [];
  private networkTimer: NodeJS.Timeout | undefined;
  private leaseWatcher: FSWatcher | undefined;

  constructor(private readonly o: InventoryReporterOptions) {}

  start(): void {
    void this.full();
    this.timer = setInterval(() => void this.full(), this.o.intervalMs);
    if (this.o.simulated) return;
    this.watching = [
      this.follow(virshEventLoop(this.o.uri), (line) => {
        const ev = parseVirshEventLine(line);
        if (ev?.domain) this.domainChanged(ev.domain);
      }),
      this.follow(virshNetworkEventLoop(this.o.uri), () => this.networksChanged()),
    ];
    this.watchLeases();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.networkTimer);
    this.leaseWatcher?.close();
    this.stopping.abort();
    for (const t of this.debounce.values()) clearTimeout(t);
    await Promise.all(this.watching);
  }

  /** The whole host, in a few virsh calls whatever the number of domains. */
  full(): Promise<void> {
    return this.enqueue('full inventory', async () => {
      const takenAt = new Date().toISOString();
      const inv = this.o.simulated?.() ?? (await collectInventory((cmd) => this.o.runner.run(cmd, { signal: this.stopping.signal }), this.o.uri));
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

  /** A network or a DHCP lease changed: one full inventory a moment later, however many changes came. */
  networksChanged(): void {
    clearTimeout(this.networkTimer);
    this.networkTimer = setTimeout(() => void this.full(), 500);
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

  /** Follows one of libvirt's event streams line by line; when it breaks (libvirtd restarted), resyncs and follows again. */
  private async follow(command: Command, onLine: (line: string) => void): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let partial = '';
      const res = await this.o.runner.run(command, {
        signal,
        onStdout: (chunk) => {
          const lines = (partial + chunk).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) if (line.trim()) onLine(line);
        },
      });
      if (signal.aborted) return;
      this.o.log.warn({ argv: res.argv, exitCode: res.exitCode, stderr: res.stderr.slice(-300) }, 'libvirt event stream ended; resyncing');
      await new Promise((r) => setTimeout(r, 1_000));
      void this.full();
    }
  }

  private watchLeases(): void {
    const dir = this.o.leaseDir;
    if (!dir || !existsSync(dir)) return;
    try {
      this.leaseWatcher = watch(dir, (_event, file) => {
        if (typeof file === 'string' && file.endsWith('.status')) this.networksChanged();
      });
      this.leaseWatcher.on('error', (err) => this.o.log.warn({ err: err.message, dir }, 'lease folder watch stopped'));
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message, dir }, 'cannot watch the DHCP lease folder: new leases show with the next full inventory');
    }
  }
}
