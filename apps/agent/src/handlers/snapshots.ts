import type { DomainInventory, DomainSnapshot, JobPayload, JobResult } from '@virtfleet/contracts';
import { assertSucceeded, type Command, type CommandResult } from '@virtfleet/exec';
import {
  classifySnapshotError,
  defaultSnapshotName,
  readDomain,
  UnsafeValueError,
  virshSnapshotCreateAs,
  virshSnapshotDelete,
  virshSnapshotRevert,
} from '@virtfleet/libvirt';
import type { JobContext } from '../job-context';
import { JobFailure } from '../job-failure';

export interface SnapshotHandlerDeps {
  uri: string;
  /** Sends a domain to the API's inventory at once (so its row and snapshot list are right before the job ends). */
  publishDomain: (domain: DomainInventory, takenAt: string) => Promise<void>;
}

interface DomainRead {
  domain: DomainInventory;
  takenAt: string;
}

/**
 * Internal snapshots of one VM, found by UUID. Idempotent: a redelivered create finds the
 * snapshot its earlier attempt made (created: false), a redelivered delete finds it gone
 * (deleted: false). After every change the domain is read again, published and returned.
 */
export class SnapshotHandlers {
  constructor(private readonly d: SnapshotHandlerDeps) {}

  readonly createSnapshot = async (p: JobPayload<'create-snapshot'>, ctx: JobContext): Promise<JobResult<'create-snapshot'>> => {
    const dom = await this.mustFind(ctx, p.vm.uuid);
    const name = p.name ?? defaultSnapshotName();
    if (findSnapshot(dom, name)) return this.existing(ctx, dom.uuid, name);
    assertInternalSnapshotsPossible(dom);
    const res = await ctx.run(build(() => virshSnapshotCreateAs(this.d.uri, dom.uuid, name, p.description)), { allowFailure: true });
    // Another job or a person took the name in the meantime: it is this VM's, so it counts as done.
    if (res.exitCode !== 0 && classifySnapshotError(res.stderr) === 'snapshot_exists') return this.existing(ctx, dom.uuid, name);
    this.check(res, dom, name);
    const after = await this.readAndPublish(ctx, dom.uuid);
    return { ...after, snapshot: mustSnapshot(after.domain, name), created: true };
  };

  readonly revertSnapshot = async (p: JobPayload<'revert-snapshot'>, ctx: JobContext): Promise<JobResult<'revert-snapshot'>> => {
    const dom = await this.mustFind(ctx, p.vm.uuid);
    if (!findSnapshot(dom, p.name)) throw snapshotNotFound(dom, p.name);
    this.check(await ctx.run(build(() => virshSnapshotRevert(this.d.uri, dom.uuid, p.name)), { allowFailure: true }), dom, p.name);
    const after = await this.readAndPublish(ctx, dom.uuid);
    return { ...after, snapshot: mustSnapshot(after.domain, p.name), state: after.domain.state };
  };

  readonly deleteSnapshot = async (p: JobPayload<'delete-snapshot'>, ctx: JobContext): Promise<JobResult<'delete-snapshot'>> => {
    const dom = await this.mustFind(ctx, p.vm.uuid);
    if (!findSnapshot(dom, p.name)) return { ...(await this.read(ctx, dom.uuid)), deleted: false };
    const res = await ctx.run(build(() => virshSnapshotDelete(this.d.uri, dom.uuid, p.name)), { allowFailure: true });
    const gone = res.exitCode !== 0 && classifySnapshotError(res.stderr) === 'snapshot_not_found';
    if (!gone) this.check(res, dom, p.name);
    const after = gone ? await this.read(ctx, dom.uuid) : await this.readAndPublish(ctx, dom.uuid);
    return { ...after, deleted: !gone };
  };

  // ---- helpers ----

  private async existing(ctx: JobContext, uuid: string, name: string): Promise<JobResult<'create-snapshot'>> {
    const now = await this.read(ctx, uuid);
    return { ...now, snapshot: mustSnapshot(now.domain, name), created: false };
  }

  /** Fails the job with a code the API shows, or with the command's own error. */
  private check(res: CommandResult, dom: DomainInventory, name: string): void {
    if (res.exitCode === 0 && !res.timedOut && !res.aborted) return;
    const kind = classifySnapshotError(res.stderr);
    if (kind === 'snapshot_not_found') throw snapshotNotFound(dom, name);
    if (kind === 'domain_not_found') throw vmNotFound(dom.uuid);
    assertSucceeded(res);
  }

  private find(ctx: JobContext, uuid: string): Promise<DomainInventory | null> {
    return readDomain((cmd) => ctx.run(cmd, { allowFailure: true }), this.d.uri, { uuid });
  }

  private async mustFind(ctx: JobContext, uuid: string): Promise<DomainInventory> {
    const dom = await this.find(ctx, uuid);
    if (!dom) throw vmNotFound(uuid);
    return dom;
  }

  private async read(ctx: JobContext, uuid: string): Promise<DomainRead> {
    const takenAt = new Date().toISOString();
    return { domain: await this.mustFind(ctx, uuid), takenAt };
  }

  private async readAndPublish(ctx: JobContext, uuid: string): Promise<DomainRead> {
    const now = await this.read(ctx, uuid);
    await this.d.publishDomain(now.domain, now.takenAt);
    return now;
  }
}

function build(make: () => Command): Command {
  try {
    return make();
  } catch (err) {
    if (err instanceof UnsafeValueError) throw new JobFailure('payload_invalid', err.message, { field: err.field });
    throw err;
  }
}

function findSnapshot(dom: DomainInventory, name: string): DomainSnapshot | undefined {
  return dom.snapshots.find((s) => s.name === name);
}

function mustSnapshot(dom: DomainInventory, name: string): DomainSnapshot {
  const snap = findSnapshot(dom, name);
  if (!snap) throw snapshotNotFound(dom, name);
  return snap;
}

function snapshotNotFound(dom: DomainInventory, name: string): JobFailure {
  return new JobFailure('snapshot_not_found', `${dom.name} has no snapshot named ${name}`, { vm: dom.name, snapshot: name });
}

function vmNotFound(uuid: string): JobFailure {
  return new JobFailure('vm_not_found', `no domain with UUID ${uuid} on this host`);
}

/** Internal snapshots live inside qcow2 images: every writable file disk must be one. */
function assertInternalSnapshotsPossible(dom: DomainInventory): void {
  const writable = dom.disks.filter((disk) => disk.device === 'disk' && !disk.readonly);
  const other = writable.filter((disk) => disk.format !== 'qcow2');
  if (other.length > 0) {
    const list = other.map((disk) => `${disk.target} (${disk.format ?? 'unknown format'})`).join(', ');
    throw new JobFailure('snapshot_unsupported', `internal snapshots need qcow2 disks; ${dom.name} has ${list}`, { disks: other.map((x) => x.target) });
  }
  if (writable.length === 0) throw new JobFailure('snapshot_unsupported', `${dom.name} has no qcow2 disk to hold an internal snapshot`);
}
