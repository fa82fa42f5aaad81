import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppliedChange, CreateVmPayload, DomainInventory, JobPayload, JobResult, VmRef } from '@virtfleet/contracts';
import { assertSucceeded, type CommandResult } from '@virtfleet/exec';
import {
  checkDomainXmlAllowlist,
  classifyVirshError,
  parseDhcpLeases,
  parseDomState,
  qemuImgCreate,
  readDomain,
  UnsafeValueError,
  virsh,
  virshAutostart,
  virshDefine,
  virshDestroy,
  virshDomState,
  virshReboot,
  virshSetMaxMem,
  virshSetMem,
  virshSetVcpus,
  virshShutdown,
  virshStart,
  virshUndefine,
  virtInstallCommand,
  type PowerStep,
  type ResolvedVmDisk,
  type VirtInstallSpec,
} from '@virtfleet/libvirt';
import type { JobContext } from '../job-context';
import type { ImageGuard } from './disks';
import { JobFailure } from '../job-failure';
import { requireBridge } from '../host/bridges';
import type { StorageRoot } from '../storage/storage-root';

export interface VmHandlerDeps {
  uri: string;
  store: StorageRoot;
  iso: StorageRoot;
  consoleLogDir: string;
  /** kvm where the host can, qemu (TCG) otherwise; undefined for libvirt's test driver. */
  virtType: () => string | undefined;
  /** osinfo short ids this host's virt-install knows (cached by the caller). */
  knownOsVariants: (ctx: JobContext) => Promise<ReadonlySet<string>>;
  /** The untrusted image guard (DESIGN.md), for disks a VM is to use. */
  guard: ImageGuard;
  /** Sends a domain to the API's inventory at once (so its row is right before the job ends). */
  publishDomain: (domain: DomainInventory, takenAt: string) => Promise<void>;
}

const POLL_MS = 250;

/**
 * VM jobs. Domains are found by UUID (the API picks it for create-vm), so every handler is
 * idempotent: a redelivered job finds what its earlier attempt did and carries on from there.
 */
export class VmHandlers {
  constructor(private readonly d: VmHandlerDeps) {}

  readonly createVm = async (p: JobPayload<'create-vm'>, ctx: JobContext): Promise<JobResult<'create-vm'>> => {
    const uuid = p.uuid;
    if (!uuid) throw new JobFailure('payload_invalid', 'create-vm needs a uuid (the API fills one in)');
    const warnings: string[] = [];
    const known = await this.find(ctx, { uuid });
    if (known) {
      // An earlier attempt made it: finish what that attempt started.
      if (known.state === 'shutoff') await ctx.run(virshStart(this.d.uri, uuid), { allowFailure: true });
      const domain = await this.mustFind(ctx, uuid);
      const ready = p.waitFor === 'guest-ready' ? await this.waitGuestReady(ctx, p, domain) : undefined;
      return { ...(await this.snapshot(ctx, uuid)), created: false, virtType: domain.virtType ?? '', osVariant: p.osVariant, disksCreated: [], warnings, ...(ready ? { ready } : {}) };
    }
    const sameName = await this.find(ctx, { name: p.name });
    if (sameName) throw new JobFailure('vm_exists', `a domain named ${p.name} already exists on this host (UUID ${sameName.uuid})`);

    const osVariant = await this.osVariant(ctx, p.osVariant, warnings);
    const disks = await this.resolveDisks(p, uuid);
    // Every value is checked (the argv built) before anything is made on the host.
    const spec: VirtInstallSpec = {
      ...p,
      uri: this.d.uri,
      uuid,
      osVariant,
      disks: disks.map((x) => ({ ...x, create: false })),
      ...(this.d.virtType() ? { virtType: this.d.virtType() } : {}),
      ...(await this.installPaths(p)),
      ...(p.serial ? { serialLogPath: await this.serialLogPath(uuid) } : {}),
      networks: await this.nics(ctx, p.networks),
    };
    let cmd;
    try {
      cmd = virtInstallCommand(spec);
    } catch (err) {
      if (err instanceof UnsafeValueError) throw new JobFailure('payload_invalid', err.message, { field: err.field });
      throw err;
    }
    // Existing disks go through the image guard (backing files, data files, disguised formats, size).
    for (const disk of disks.filter((x) => !x.create)) await this.d.guard(ctx, disk.path, disk.format);
    const created: string[] = [];
    try {
      for (const disk of disks.filter((x) => x.create)) {
        created.push(disk.path);
        if ((await this.d.store.ownerOf(disk.path)) === uuid && (await this.d.store.exists(disk.path))) continue; // made by an earlier attempt
        await this.d.store.setOwner(disk.path, uuid);
        await ctx.run(qemuImgCreate({ path: disk.path, format: disk.format, sizeBytes: (disk.sizeGiB ?? 0) * 1024 ** 3 }));
      }
      await ctx.run(cmd);
    } catch (err) {
      await this.undo(ctx, uuid, created);
      throw err;
    }
    for (const path of created) await this.d.store.clearOwner(path);
    const first = await this.snapshot(ctx, uuid);
    await this.d.publishDomain(first.domain, first.takenAt);
    const ready = p.waitFor === 'guest-ready' ? await this.waitGuestReady(ctx, p, first.domain) : undefined;
    const done = ready ? await this.snapshot(ctx, uuid) : first;
    return {
      ...done,
      created: true,
      virtType: done.domain.virtType ?? this.d.virtType() ?? '',
      osVariant,
      disksCreated: created,
      warnings,
      ...(ready ? { ready } : {}),
    };
  };

  readonly defineVm = async (p: JobPayload<'define-vm'>, ctx: JobContext): Promise<JobResult<'define-vm'>> => {
    const check = checkDomainXmlAllowlist(p.xml, { roots: [this.d.store.root, this.d.iso.root, this.d.consoleLogDir] });
    if (check.violations.length) throw new JobFailure('domain_xml_refused', `domain XML refused: ${check.violations.join('; ')}`);
    if (check.uuid !== p.uuid) throw new JobFailure('payload_invalid', `the XML's UUID ${check.uuid ?? '(none)'} is not the job's ${p.uuid}`);
    const byName = await this.find(ctx, { name: check.name });
    if (byName && byName.uuid !== p.uuid) throw new JobFailure('vm_exists', `a domain named ${check.name} already exists (UUID ${byName.uuid})`);
    const dir = join(this.d.store.root, '.define');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${p.uuid}.xml`);
    await writeFile(file, p.xml, { mode: 0o600 });
    try {
      await ctx.run(virshDefine(this.d.uri, file));
    } finally {
      await rm(file, { force: true });
    }
    return this.snapshot(ctx, p.uuid);
  };

  // start and destroy run in the same virsh process as the read that makes their result (see
  // PowerStep): a no-op on a domain already so, judged by the state read after the action.
  readonly startVm = async (p: JobPayload<'start-vm'>, ctx: JobContext) => {
    const takenAt = new Date().toISOString();
    const domain = await this.powerThenRead(ctx, p.vm.uuid, 'start');
    if (domain.state === 'paused') throw new JobFailure('vm_paused', `${domain.name} is paused: resume it instead`);
    return { domain, takenAt };
  };

  readonly destroyVm = async (p: JobPayload<'destroy-vm'>, ctx: JobContext) => {
    const takenAt = new Date().toISOString();
    return { domain: await this.powerThenRead(ctx, p.vm.uuid, 'destroy'), takenAt };
  };

  readonly rebootVm = (p: JobPayload<'reboot-vm'>, ctx: JobContext) =>
    this.act(ctx, p.vm, async (dom) => {
      if (dom.state !== 'running') throw new JobFailure('vm_not_running', `${dom.name} is ${dom.state}: only a running VM reboots`);
      await ctx.run(virshReboot(this.d.uri, dom.uuid));
    });

  // suspend and resume likewise: suspend of a paused domain does nothing, resume of a running one
  // says "already running", of a shut-off one "not running"; the state afterwards decides.
  readonly suspendVm = async (p: JobPayload<'suspend-vm'>, ctx: JobContext) => {
    const takenAt = new Date().toISOString();
    const domain = await this.powerThenRead(ctx, p.vm.uuid, 'suspend');
    if (domain.state !== 'paused') throw new JobFailure('vm_not_running', `${domain.name} is ${domain.state}: only a running VM can be suspended`);
    return { domain, takenAt };
  };

  readonly resumeVm = async (p: JobPayload<'resume-vm'>, ctx: JobContext) => {
    const takenAt = new Date().toISOString();
    const domain = await this.powerThenRead(ctx, p.vm.uuid, 'resume');
    if (domain.state !== 'running') throw new JobFailure('vm_not_paused', `${domain.name} is ${domain.state}, not paused`);
    return { domain, takenAt };
  };

  readonly setAutostart = (p: JobPayload<'set-autostart'>, ctx: JobContext) =>
    this.act(ctx, p.vm, async (dom) => {
      if (dom.autostart !== p.enabled) await ctx.run(virshAutostart(this.d.uri, dom.uuid, p.enabled));
    });

  /** Graceful power-off over ACPI; the ACPI request is repeated (one sent during early boot is lost). */
  readonly shutdownVm = async (p: JobPayload<'shutdown-vm'>, ctx: JobContext): Promise<JobResult<'shutdown-vm'>> => {
    const dom = await this.mustFind(ctx, p.vm.uuid);
    if (dom.state === 'shutoff') return { ...(await this.snapshot(ctx, dom.uuid)), forced: false };
    // A paused guest cannot act on ACPI: waiting would only end in a misleading time-out.
    if (dom.state === 'paused') throw new JobFailure('vm_paused', `${dom.name} is paused: resume it first, or destroy it`);
    const deadline = Date.now() + p.timeoutSeconds * 1000;
    let lastAsk = 0;
    while (Date.now() < deadline) {
      if (Date.now() - lastAsk >= 5_000) {
        await this.virsh(ctx, virshShutdown(this.d.uri, dom.uuid), ['not_running']);
        lastAsk = Date.now();
      }
      const now = await this.state(ctx, dom.uuid);
      if (now === 'shutoff') return { ...(await this.snapshot(ctx, dom.uuid)), forced: false };
      // A transient domain is gone once it powers off.
      if (now === 'unknown' && !dom.persistent) return { domain: { ...dom, state: 'shutoff' }, takenAt: new Date().toISOString(), forced: false };
      await sleep(POLL_MS, ctx.signal);
    }
    if (!p.force) {
      throw new JobFailure(
        'timed_out',
        `${dom.name} did not power off within ${p.timeoutSeconds} s of the ACPI request (the guest may ignore ACPI): pass force: true to pull the plug after the timeout, or destroy it`,
      );
    }
    await this.virsh(ctx, virshDestroy(this.d.uri, dom.uuid), ['not_running']);
    return { ...(await this.snapshot(ctx, dom.uuid)), forced: true };
  };

  /** setvcpus: the maximum only at the next boot (--config); the count now as well where libvirt can hotplug. */
  readonly setVcpus = async (p: JobPayload<'set-vcpus'>, ctx: JobContext): Promise<JobResult<'set-vcpus'>> => {
    const dom = await this.mustFind(ctx, p.vm.uuid);
    const applied: AppliedChange[] = [];
    const setMax = async () => {
      if (p.maxVcpus === undefined) return;
      await this.virsh(ctx, virshSetVcpus(this.d.uri, dom.uuid, p.maxVcpus, 'maximum'), [], 'vcpus_invalid');
      applied.push({ what: 'maxVcpus', value: p.maxVcpus, when: 'next-boot' });
    };
    const setCount = async () => {
      if (p.vcpus === undefined) return;
      await this.virsh(ctx, virshSetVcpus(this.d.uri, dom.uuid, p.vcpus, 'config'), [], 'vcpus_invalid');
      const live = dom.state === 'running' || dom.state === 'paused' ? await this.tryLive(ctx, virshSetVcpus(this.d.uri, dom.uuid, p.vcpus, 'live')) : false;
      applied.push({ what: 'vcpus', value: p.vcpus, when: live ? 'now-and-next-boot' : 'next-boot' });
    };
    await inWorkingOrder(setMax, setCount);
    return { ...(await this.snapshot(ctx, dom.uuid)), applied };
  };

  /** setmaxmem only in the config (libvirt cannot resize the maximum of a running domain); setmem live where the balloon allows. */
  readonly setMemory = async (p: JobPayload<'set-memory'>, ctx: JobContext): Promise<JobResult<'set-memory'>> => {
    const dom = await this.mustFind(ctx, p.vm.uuid);
    const active = dom.state === 'running' || dom.state === 'paused';
    const applied: AppliedChange[] = [];
    const setMax = async () => {
      if (p.maxMemoryMiB === undefined) return;
      await this.virsh(ctx, virshSetMaxMem(this.d.uri, dom.uuid, p.maxMemoryMiB), [], 'memory_invalid');
      applied.push({ what: 'maxMemoryMiB', value: p.maxMemoryMiB, when: 'next-boot' });
    };
    const setCurrent = async () => {
      if (p.memoryMiB === undefined) return;
      await this.virsh(ctx, virshSetMem(this.d.uri, dom.uuid, p.memoryMiB, 'config'), [], 'memory_invalid');
      const asked = active && p.memoryMiB <= dom.maxMemoryMiB && (await this.tryLive(ctx, virshSetMem(this.d.uri, dom.uuid, p.memoryMiB, 'live')));
      // setmem --live exits 0 even when no balloon driver in the guest acts on it: believe the domain, not the exit code.
      const live = asked && (await this.mustFind(ctx, dom.uuid)).memoryMiB === p.memoryMiB;
      applied.push({ what: 'memoryMiB', value: p.memoryMiB, when: live ? 'now-and-next-boot' : 'next-boot' });
    };
    await inWorkingOrder(setMax, setCurrent);
    return { ...(await this.snapshot(ctx, dom.uuid)), applied };
  };

  /** Stops and undefines; with removeStorage, deletes the VM's disks that lie inside our store root (never others). */
  readonly undefineVm = async (p: JobPayload<'undefine-vm'>, ctx: JobContext): Promise<JobResult<'undefine-vm'>> => {
    const dom = await this.find(ctx, { uuid: p.vm.uuid });
    if (!dom) return { undefined: false, deleted: [], kept: [] };
    if (dom.snapshots.length > 0 && !p.deleteSnapshots) {
      throw new JobFailure('vm_has_snapshots', `${dom.name} has ${dom.snapshots.length} snapshot(s): pass deleteSnapshots to remove them with it`);
    }
    if (dom.state !== 'shutoff') await this.virsh(ctx, virshDestroy(this.d.uri, dom.uuid), ['not_running']);
    if (dom.persistent) {
      await this.virsh(ctx, virshUndefine(this.d.uri, dom.uuid, { snapshotsMetadata: dom.snapshots.length > 0 }), ['not_found']);
    }
    const deleted: string[] = [];
    const kept: string[] = [];
    for (const disk of dom.disks) {
      if (!disk.source || disk.type !== 'file' || disk.device !== 'disk') continue;
      if (p.removeStorage && (await this.d.store.contains(disk.source)) && (await this.d.store.exists(disk.source).catch(() => false))) {
        await rm(disk.source, { force: true });
        deleted.push(disk.source);
      } else {
        kept.push(disk.source);
      }
    }
    if (dom.serialLog?.startsWith(`${this.d.consoleLogDir}/`)) await rm(dom.serialLog, { force: true });
    return { undefined: true, deleted, kept };
  };

  // ---- helpers (the public ones are shared with the clone handler) ----

  private async act(ctx: JobContext, ref: VmRef, change: (dom: DomainInventory) => Promise<void>) {
    const dom = await this.mustFind(ctx, ref.uuid);
    await change(dom);
    return this.snapshot(ctx, dom.uuid);
  }

  private run = (ctx: JobContext) => (cmd: Parameters<JobContext['run']>[0]) => ctx.run(cmd, { allowFailure: true });

  private async powerThenRead(ctx: JobContext, uuid: string, verb: PowerStep['verb']): Promise<DomainInventory> {
    const dom = await readDomain(this.run(ctx), this.d.uri, { uuid }, { verb });
    if (!dom) throw new JobFailure('vm_not_found', `no domain with UUID ${uuid} on this host`);
    return dom;
  }

  find(ctx: JobContext, ref: { uuid?: string; name?: string }): Promise<DomainInventory | null> {
    return readDomain(this.run(ctx), this.d.uri, ref);
  }

  async mustFind(ctx: JobContext, uuid: string): Promise<DomainInventory> {
    const dom = await this.find(ctx, { uuid });
    if (!dom) throw new JobFailure('vm_not_found', `no domain with UUID ${uuid} on this host`);
    return dom;
  }

  async snapshot(ctx: JobContext, uuid: string): Promise<{ domain: DomainInventory; takenAt: string }> {
    const takenAt = new Date().toISOString();
    return { domain: await this.mustFind(ctx, uuid), takenAt };
  }

  private async state(ctx: JobContext, uuid: string): Promise<string> {
    const res = await ctx.run(virshDomState(this.d.uri, uuid), { allowFailure: true, quiet: true });
    return res.exitCode === 0 ? parseDomState(res.stdout).state : 'unknown';
  }

  /** A virsh call whose listed error kinds mean "already so" (idempotent); others fail the job. */
  private async virsh(ctx: JobContext, cmd: Parameters<JobContext['run']>[0], benign: string[], invalidCode?: string): Promise<CommandResult | null> {
    const res = await ctx.run(cmd, { allowFailure: true });
    if (res.exitCode === 0) return res;
    const kind = classifyVirshError(res.stderr);
    if (benign.includes(kind)) return null;
    if (invalidCode && (kind === 'exceeds_maximum' || kind === 'other')) {
      throw new JobFailure(invalidCode, res.stderr.replace(/^error:\s*/gm, '').trim());
    }
    return assertSucceeded(res);
  }

  /** A live change that may not be possible (no hotplug, no balloon): false instead of failing. */
  private async tryLive(ctx: JobContext, cmd: Parameters<JobContext['run']>[0]): Promise<boolean> {
    return (await ctx.run(cmd, { allowFailure: true })).exitCode === 0;
  }

  private async osVariant(ctx: JobContext, wanted: string, warnings: string[]): Promise<string> {
    const known = await this.d.knownOsVariants(ctx);
    if (known.size === 0 || known.has(wanted)) return wanted;
    warnings.push(`osVariant ${wanted} is unknown to this host's osinfo-db; using generic`);
    return 'generic';
  }

  /**
   * New disks get a path in the store (one an earlier attempt of this very VM made is taken over:
   * its owner note names the VM's UUID); existing ones must be plain images whose backing file,
   * if any, is ours too (DESIGN.md: a client never points QEMU at an arbitrary host file).
   */
  private async resolveDisks(p: CreateVmPayload, uuid: string): Promise<ResolvedVmDisk[]> {
    const out: ResolvedVmDisk[] = [];
    for (const disk of p.disks) {
      const path = this.d.store.diskPath(disk.name, disk.format);
      const exists = await this.d.store.exists(path);
      if (disk.sizeGiB !== undefined) {
        const other = this.d.store.diskPath(disk.name, disk.format === 'qcow2' ? 'raw' : 'qcow2');
        if (await this.d.store.exists(other)) throw new JobFailure('disk_exists', `a disk named ${disk.name} already exists as ${other}`);
        if (exists && (await this.d.store.ownerOf(path)) !== uuid) {
          throw new JobFailure('disk_exists', `disk ${disk.name} already exists (${path}): leave out sizeGiB to use it`);
        }
        out.push({ ...disk, path, create: true });
        continue;
      }
      if (!exists) throw new JobFailure('disk_not_found', `no disk ${disk.name} (${path}) on this host`);
      out.push({ ...disk, path, create: false });
    }
    return out;
  }

  private async installPaths(p: CreateVmPayload): Promise<Partial<VirtInstallSpec>> {
    const file = async (name: string) => {
      const path = this.d.iso.filePath(name);
      if (!(await this.d.iso.exists(path))) throw new JobFailure('install_media_not_found', `no ${name} in the iso root ${this.d.iso.root}`);
      return path;
    };
    const iso = async (name: string) => {
      const path = await file(name);
      // virt-install cannot pin a CD-ROM's format: libvirt would probe a disk-image header and follow its backing file.
      const magic = await imageMagic(path);
      if (magic) throw new JobFailure('install_media_refused', `${name} is a ${magic} image, not an ISO`);
      return path;
    };
    const s = p.install;
    if (s.kind === 'cdrom') return { isoPath: await iso(s.iso) };
    if (s.kind === 'location' && s.iso) return { isoPath: await iso(s.iso) };
    if (s.kind === 'kernel') return { kernelPath: await file(s.kernel), ...(s.initrd ? { initrdPath: await file(s.initrd) } : {}) };
    return {};
  }

  /** A NIC on a host bridge: the bridge must exist, and an Open vSwitch one gets its virtualport. */
  private async nics(ctx: JobContext, nics: CreateVmPayload['networks']): Promise<VirtInstallSpec['networks']> {
    const out: Array<VirtInstallSpec['networks'][number]> = [];
    for (const nic of nics) {
      const kind = nic.bridge ? await requireBridge(ctx, nic.bridge, 'any') : undefined;
      out.push(kind === 'ovs' ? { ...nic, virtualport: 'openvswitch' } : nic);
    }
    return out;
  }

  async serialLogPath(uuid: string): Promise<string> {
    await mkdir(this.d.consoleLogDir, { recursive: true, mode: 0o755 });
    return join(this.d.consoleLogDir, `${uuid}.log`);
  }

  /** Removes what a failed, cancelled or timed-out create made: the domain (if virt-install left one), then new disks. */
  async undo(ctx: JobContext, uuid: string, disks: string[]): Promise<void> {
    await ctx.cleanup(virshDestroy(this.d.uri, uuid));
    await ctx.cleanup(virshUndefine(this.d.uri, uuid, { snapshotsMetadata: true }));
    for (const path of disks) {
      await rm(path, { force: true });
      await this.d.store.clearOwner(path);
    }
  }

  /** The first sign of life: the marker on the serial console, or a DHCP lease for one of its MACs. */
  async waitGuestReady(ctx: JobContext, p: Pick<CreateVmPayload, 'name' | 'readyMarker' | 'readyTimeoutSeconds'>, dom: DomainInventory): Promise<{ afterMs: number; sign: string }> {
    const t0 = Date.now();
    const deadline = t0 + p.readyTimeoutSeconds * 1000;
    const nets = dom.interfaces.filter((i) => i.network && i.mac);
    let offset = 0;
    let seen = '';
    while (Date.now() < deadline) {
      if (dom.serialLog) {
        const chunk = await readFrom(dom.serialLog, offset);
        offset += chunk.bytes;
        seen = (seen + chunk.text).slice(-4096);
        if (seen.includes(p.readyMarker)) return { afterMs: Date.now() - t0, sign: `serial console: ${p.readyMarker}` };
      }
      for (const nic of nets) {
        const res = await ctx.run(virsh(this.d.uri, 'net-dhcp-leases', nic.network ?? ''), { allowFailure: true, quiet: true });
        const lease = res.exitCode === 0 ? parseDhcpLeases(res.stdout).find((l) => l.mac === nic.mac) : undefined;
        if (lease) return { afterMs: Date.now() - t0, sign: `DHCP lease ${lease.ip} on ${nic.network ?? ''}` };
      }
      await sleep(POLL_MS, ctx.signal);
    }
    throw new JobFailure(
      'timed_out',
      `${p.name} was created and started but showed no sign of life within ${p.readyTimeoutSeconds} s (no "${p.readyMarker}" on its serial console${nets.length ? ', no DHCP lease' : ''}); the VM is left as it is`,
    );
  }
}

/**
 * A maximum and a value under it, both in the saved config: raising needs the maximum first,
 * lowering the value first. The config's maximum may differ from the live one the domain shows,
 * so try maximum-first and, if libvirt refuses, value-first.
 */
async function inWorkingOrder(setMax: () => Promise<void>, setValue: () => Promise<void>): Promise<void> {
  try {
    await setMax();
  } catch (err) {
    if (!(err instanceof JobFailure)) throw err;
    await setValue();
    await setMax();
    return;
  }
  await setValue();
}

const IMAGE_MAGIC: ReadonlyArray<readonly [string, Buffer]> = [
  ['qcow2', Buffer.from([0x51, 0x46, 0x49, 0xfb])],
  ['qed', Buffer.from('QED\0', 'latin1')],
  ['vmdk', Buffer.from('KDMV', 'latin1')],
  ['vhdx', Buffer.from('vhdxfile', 'latin1')],
  ['vpc', Buffer.from('conectix', 'latin1')],
];

/** The disk-image format a file's header claims, if any. */
async function imageMagic(path: string): Promise<string | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(8);
    await fh.read(buf, 0, 8, 0);
    return IMAGE_MAGIC.find(([, m]) => buf.subarray(0, m.length).equals(m))?.[0];
  } finally {
    await fh.close();
  }
}

async function readFrom(path: string, offset: number): Promise<{ text: string; bytes: number }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return { text: '', bytes: 0 };
  }
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    return { text: buf.subarray(0, bytesRead).toString('utf8'), bytes: bytesRead };
  } finally {
    await fh.close();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
