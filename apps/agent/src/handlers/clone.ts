import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CloneVmPayload, DiskFormat, DomainDisk, DomainInventory, JobPayload, JobResult } from '@virtfleet/contracts';
import { assertSucceeded } from '@virtfleet/exec';
import {
  CloneXmlError,
  cloneDomainXml,
  parseDomainXml,
  parseConvertProgress,
  qemuImgConvert,
  virshDefine,
  virshDumpXml,
  virshStart,
} from '@virtfleet/libvirt';
import type { JobContext } from '../job-context';
import { JobFailure } from '../job-failure';
import type { StorageRoot } from '../storage/storage-root';
import type { VmHandlers } from './vms';

export interface CloneHandlerDeps {
  uri: string;
  store: StorageRoot;
  vms: VmHandlers;
  publishDomain: (domain: DomainInventory, takenAt: string) => Promise<void>;
}

/** One source disk the clone gets a copy of (the copy keeps the source's format). */
interface DiskCopy {
  target: string;
  name: string;
  /** The source's file; unknown when a later attempt finds the clone already made. */
  from?: string;
  format: string;
  path: string;
}

const FORMATS: readonly string[] = ['qcow2', 'raw'];

/**
 * clone-vm: virt-clone's work, done in steps a redelivered job can pick up. Nothing is made
 * until every check has passed; then the disks are copied (each to a temporary file, renamed
 * into place, with an owner note naming the clone's UUID so a later attempt keeps it), and the
 * domain is defined last — so a domain with the clone's UUID means the clone is complete. A
 * failure, cancel or time-out removes what this clone made and starts the source again if the
 * job shut it down.
 */
export class CloneHandler {
  constructor(private readonly d: CloneHandlerDeps) {}

  readonly cloneVm = async (p: JobPayload<'clone-vm'>, ctx: JobContext): Promise<JobResult<'clone-vm'>> => {
    const uuid = p.uuid;
    if (!uuid) throw new JobFailure('payload_invalid', 'clone-vm needs a uuid (the API fills one in)');
    const vms = this.d.vms;
    const restartNote = `clone-${uuid}`;
    const done = await vms.find(ctx, { uuid });
    if (done) {
      const copies = copiesIn(p, done);
      for (const c of copies) if (c.path) await this.d.store.clearOwner(c.path);
      const shared = done.disks.filter((d) => d.source && !p.disks.some((w) => w.target === d.target)).map((d) => d.target);
      return this.finish(p, ctx, done, { created: false, copies, shared, warnings: [] }, restartNote);
    }
    try {
      return await this.make(p, ctx, uuid, restartNote);
    } catch (err) {
      // Whatever failed — this attempt's checks included — a source an earlier attempt shut down runs again.
      await this.restartSource(ctx, p, restartNote, true);
      throw err;
    }
  };

  private async make(p: CloneVmPayload, ctx: JobContext, uuid: string, restartNote: string): Promise<JobResult<'clone-vm'>> {
    const vms = this.d.vms;
    const other = await vms.find(ctx, { name: p.name });
    if (other) throw new JobFailure('vm_exists', `a domain named ${p.name} already exists on this host (UUID ${other.uuid})`);
    const source = await vms.find(ctx, { uuid: p.source.uuid });
    if (!source) throw new JobFailure('vm_not_found', `no source domain ${p.source.name} (UUID ${p.source.uuid}) on this host`);
    const running = source.state !== 'shutoff';
    if (running && !p.shutdownSource) {
      throw new JobFailure(
        'vm_running',
        `${source.name} is ${source.state}: a clone is copied from a shut-off VM (its disks must not change under the copy). Shut it down first, or pass shutdownSource: true to have this job shut it down and start it again afterwards`,
        { state: source.state },
      );
    }
    if (running && source.state !== 'running') {
      throw new JobFailure('vm_not_running', `${source.name} is ${source.state}: only a running source can be shut down for a clone; resume or shut it down first`);
    }
    if (!source.persistent) {
      throw new JobFailure('clone_unsupported', `${source.name} is transient (not defined): shut off it would be gone, so it cannot be cloned`);
    }

    // Every check before anything changes, on the saved definition the clone is made from (a
    // running source's live devices may differ): MACs, the disk plan, the target files, the XML.
    const xml = assertSucceeded(await ctx.run(virshDumpXml(this.d.uri, source.uuid, { inactive: true, securityInfo: true }), { quiet: true })).stdout;
    const saved = { ...source, ...parseDomainXml(xml) };
    if (p.macs.length > saved.interfaces.length) {
      throw new JobFailure('payload_invalid', `${p.macs.length} MACs given, but ${source.name} has ${saved.interfaces.length} interface(s)`);
    }
    const taken = p.macs.find((mac) => saved.interfaces.some((nic) => nic.mac === mac));
    if (taken) throw new JobFailure('payload_invalid', `MAC ${taken} is ${source.name}'s own: the clone needs addresses of its own`);
    const { copies, shared } = await this.plan(p, saved, uuid);
    let clone;
    try {
      clone = cloneDomainXml(xml, {
        name: p.name,
        uuid,
        macs: saved.interfaces.map((_, i) => p.macs[i] ?? newMac(saved)),
        disks: Object.fromEntries(copies.map((c) => [c.target, c.path])),
        serialLogPath: await vms.serialLogPath(uuid),
      });
    } catch (err) {
      if (err instanceof CloneXmlError) throw new JobFailure('clone_unsupported', `${source.name} cannot be cloned: ${err.message}`);
      throw err;
    }

    const made: string[] = [];
    try {
      if (running) {
        await this.d.store.writeNote(restartNote, 'restart-source');
        await vms.shutdownVm({ vm: p.source, timeoutSeconds: p.shutdownTimeoutSeconds, force: false }, ctx);
      }
      await this.copyDisks(ctx, p, uuid, copies, made);
      await this.define(ctx, uuid, clone.xml);
    } catch (err) {
      await vms.undo(ctx, uuid, made);
      throw err;
    }
    for (const c of copies) await this.d.store.clearOwner(c.path);
    const defined = await vms.mustFind(ctx, uuid);
    await this.d.publishDomain(defined, new Date().toISOString());
    return this.finish(p, ctx, defined, { created: true, copies, shared, warnings: clone.warnings }, restartNote);
  }

  /** What every attempt ends with: the source running again if it was, the clone started if asked. */
  private async finish(
    p: CloneVmPayload,
    ctx: JobContext,
    clone: DomainInventory,
    made: { created: boolean; copies: DiskCopy[]; shared: string[]; warnings: string[] },
    restartNote: string,
  ): Promise<JobResult<'clone-vm'>> {
    const sourceRestarted = await this.restartSource(ctx, p, restartNote, false);
    if (p.start && clone.state === 'shutoff') await ctx.run(virshStart(this.d.uri, clone.uuid));
    const started = p.start ? await this.d.vms.mustFind(ctx, clone.uuid) : clone;
    const ready = p.waitFor === 'guest-ready' ? await this.d.vms.waitGuestReady(ctx, p, started) : undefined;
    return {
      ...(await this.d.vms.snapshot(ctx, clone.uuid)),
      created: made.created,
      disks: made.copies,
      shared: made.shared,
      sourceRestarted,
      warnings: made.warnings,
      ...(ready ? { ready } : {}),
    };
  }

  /** Starts the source again when this job (this attempt or an earlier one) shut it down. */
  private async restartSource(ctx: JobContext, p: CloneVmPayload, note: string, cleanup: boolean): Promise<boolean> {
    if (!(await this.d.store.readNote(note))) return false;
    const start = virshStart(this.d.uri, p.source.uuid);
    if (cleanup) await ctx.cleanup(start);
    else if ((await this.d.vms.find(ctx, { uuid: p.source.uuid }))?.state === 'shutoff') await ctx.run(start);
    await this.d.store.clearNote(note);
    return true;
  }

  /**
   * Which source disks are copied (writable ones, and any the payload names) and which are
   * shared (read-only or shareable: install media). A writable disk never ends up shared.
   */
  private async plan(p: CloneVmPayload, source: DomainInventory, uuid: string): Promise<{ copies: DiskCopy[]; shared: string[] }> {
    const copies: DiskCopy[] = [];
    const shared: string[] = [];
    for (const want of p.disks) {
      if (!source.disks.some((d) => d.target === want.target)) {
        throw new JobFailure('payload_invalid', `${source.name} has no disk ${want.target} (it has ${source.disks.map((d) => d.target).join(', ') || 'none'})`);
      }
    }
    for (const disk of source.disks) {
      const want = p.disks.find((w) => w.target === disk.target);
      if (!want) {
        if (isWritable(disk)) {
          throw new JobFailure('payload_invalid', `disk ${disk.target} (${disk.source ?? disk.type}) would be written by both VMs: name the clone's copy in disks`);
        }
        if (disk.source) shared.push(disk.target);
        continue;
      }
      if (disk.type !== 'file' || !disk.source) {
        throw new JobFailure('clone_unsupported', `disk ${disk.target} is a ${disk.type} disk: only file disks are copied`);
      }
      const sourceFormat = (FORMATS.includes(disk.format ?? '') ? disk.format : undefined) as DiskFormat | undefined;
      if (!sourceFormat) throw new JobFailure('clone_unsupported', `disk ${disk.target} is ${disk.format ?? 'of unknown format'}: only qcow2 and raw disks are copied`);
      const path = this.d.store.diskPath(want.name, sourceFormat);
      const otherFormat = this.d.store.diskPath(want.name, sourceFormat === 'qcow2' ? 'raw' : 'qcow2');
      if (await this.d.store.exists(otherFormat)) throw new JobFailure('disk_exists', `a disk named ${want.name} already exists (${otherFormat})`);
      if ((await this.d.store.exists(path)) && (await this.d.store.ownerOf(path)) !== uuid) {
        throw new JobFailure('disk_exists', `disk ${want.name} already exists (${path})`);
      }
      copies.push({ target: disk.target, name: want.name, from: disk.source, format: sourceFormat, path });
    }
    return { copies, shared };
  }

  /** qemu-img convert per disk into a temporary file, renamed into place; progress weighted by disk. */
  private async copyDisks(ctx: JobContext, p: CloneVmPayload, uuid: string, copies: DiskCopy[], made: string[]): Promise<void> {
    for (const [i, c] of copies.entries()) {
      if ((await this.d.store.exists(c.path)) && (await this.d.store.ownerOf(c.path)) === uuid) {
        made.push(c.path); // copied by an earlier attempt
        continue;
      }
      const format = c.format as DiskFormat;
      await this.d.store.setOwner(c.path, uuid);
      const tmp = this.d.store.tempPath(c.name, format, ctx.jobId);
      try {
        await ctx.run(qemuImgConvert({ source: c.from ?? '', sourceFormat: format, target: tmp, format, sparse: p.sparse }), {
          onStdout: (chunk) => {
            const pct = parseConvertProgress(chunk);
            if (pct !== undefined) ctx.progress(((i + pct / 100) / copies.length) * 95);
          },
        });
        await this.d.store.commit(tmp, c.path);
        made.push(c.path); // only files this clone put there are ever removed by its undo
      } catch (err) {
        if (!made.includes(c.path)) await this.d.store.clearOwner(c.path);
        throw err;
      } finally {
        await this.d.store.discard(tmp);
      }
    }
  }

  private async define(ctx: JobContext, uuid: string, xml: string): Promise<void> {
    const dir = join(this.d.store.root, '.define');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${uuid}.xml`);
    await writeFile(file, xml, { mode: 0o600 });
    try {
      await ctx.run(virshDefine(this.d.uri, file));
    } finally {
      await rm(file, { force: true });
    }
  }
}

/** The clone's disks as its domain shows them (for a job that finds the clone already made). */
function copiesIn(p: CloneVmPayload, clone: DomainInventory): DiskCopy[] {
  return p.disks.map((want) => {
    const disk = clone.disks.find((d) => d.target === want.target);
    return { target: want.target, name: want.name, format: disk?.format ?? '', path: disk?.source ?? '' };
  });
}

function isWritable(disk: DomainDisk): boolean {
  return (disk.device === 'disk' || disk.device === 'lun') && !disk.readonly;
}

/** A MAC in QEMU's locally administered range, none of the source's. */
function newMac(source: DomainInventory): string {
  for (;;) {
    const mac = `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    if (!source.interfaces.some((nic) => nic.mac === mac)) return mac;
  }
}
