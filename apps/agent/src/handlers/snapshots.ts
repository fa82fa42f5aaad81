import type { DomainInventory, DomainSnapshot, JobPayload, JobResult } from '@virtfleet/contracts';
import { actOnDomain, readHintOf, UnsafeValueError, defaultSnapshotName, type ActedDomain, type DomainAction, type ReadHint } from '@virtfleet/libvirt';
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
 * Internal snapshots of one VM, found by UUID. Each job is one virsh process (two when the VM
 * has snapshots this handler has not seen yet): the snapshot command runs first in the batch that
 * then reads the domain (actOnDomain), and what it answered when there was nothing to do decides
 * the result. Idempotent: a redelivered create finds the snapshot its earlier attempt made
 * (created: false), a redelivered delete finds it gone (deleted: false). A domain that changed is
 * published and returned.
 */
export class SnapshotHandlers {
  /**
   * Per domain, what the last job saw (its snapshot names and networks): the next job reads
   * their XMLs and leases in its own process instead of a second one. A guess only (ReadHint).
   */
  private readonly seen = new Map<string, ReadHint>();

  constructor(private readonly d: SnapshotHandlerDeps) {}

  readonly createSnapshot = async (p: JobPayload<'create-snapshot'>, ctx: JobContext): Promise<JobResult<'create-snapshot'>> => {
    const name = p.name ?? defaultSnapshotName();
    // No read before: libvirt refuses a domain whose disks cannot hold an internal snapshot before
    // it does anything, and the read in the same process names every such disk.
    const now = await this.act(ctx, p.vm.uuid, { verb: 'snapshot-create-as', name, ...(p.description !== undefined ? { description: p.description } : {}) }, (names) => [...names, name]);
    if (now.answer?.kind === 'unsupported') {
      assertInternalSnapshotsPossible(now.domain);
      throw new JobFailure('snapshot_unsupported', `${now.domain.name}: ${now.answer.said}`);
    }
    // "Already exists": an earlier attempt of this job, another job or a person took the name;
    // it is this VM's, so it counts as done.
    const created = now.answer?.kind !== 'exists';
    if (created) await this.d.publishDomain(now.domain, now.takenAt);
    return { domain: now.domain, takenAt: now.takenAt, snapshot: mustSnapshot(now.domain, name), created };
  };

  readonly revertSnapshot = async (p: JobPayload<'revert-snapshot'>, ctx: JobContext): Promise<JobResult<'revert-snapshot'>> => {
    const now = await this.act(ctx, p.vm.uuid, { verb: 'snapshot-revert', name: p.name }, (names) => [...names, p.name]);
    if (now.answer?.kind === 'not_found') throw snapshotNotFound(now.domain, p.name);
    await this.d.publishDomain(now.domain, now.takenAt);
    return { domain: now.domain, takenAt: now.takenAt, snapshot: mustSnapshot(now.domain, p.name), state: now.domain.state };
  };

  readonly deleteSnapshot = async (p: JobPayload<'delete-snapshot'>, ctx: JobContext): Promise<JobResult<'delete-snapshot'>> => {
    // The deleted snapshot's XML is not read along (it would be gone; see actOnDomain's echoes).
    const now = await this.act(ctx, p.vm.uuid, { verb: 'snapshot-delete', name: p.name }, (names) => names.filter((n) => n !== p.name));
    const deleted = now.answer?.kind !== 'not_found';
    if (deleted) await this.d.publishDomain(now.domain, now.takenAt);
    return { domain: now.domain, takenAt: now.takenAt, deleted };
  };

  // ---- helpers ----

  /** The action and the read after it, in one virsh process; vm_not_found when libvirt has no such domain. */
  private async act(
    ctx: JobContext,
    uuid: string,
    action: DomainAction,
    snapshotsToRead: (seen: readonly string[]) => string[],
  ): Promise<DomainRead & Pick<ActedDomain, 'answer'>> {
    const takenAt = new Date().toISOString();
    const key = uuid.toLowerCase();
    const seen = this.seen.get(key) ?? {};
    const hint: ReadHint = { ...seen, snapshots: snapshotsToRead(seen.snapshots ?? []) };
    let res: ActedDomain;
    try {
      res = await actOnDomain((cmd) => ctx.run(cmd, { allowFailure: true }), this.d.uri, uuid, action, hint);
    } catch (err) {
      if (err instanceof UnsafeValueError) throw new JobFailure('payload_invalid', err.message, { field: err.field });
      throw err;
    }
    if (!res.domain) {
      this.seen.delete(key);
      throw vmNotFound(uuid);
    }
    this.seen.set(key, readHintOf(res.domain));
    return { domain: res.domain, takenAt, ...(res.answer ? { answer: res.answer } : {}) };
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

/**
 * Internal snapshots live inside qcow2 images: every writable disk must be one. Asked once libvirt
 * has refused a create ("unsupported configuration", before it did anything, running or shut off:
 * a raw disk, or no disk at all), to name every disk at fault, not only the first libvirt names.
 */
function assertInternalSnapshotsPossible(dom: DomainInventory): void {
  const writable = dom.disks.filter((disk) => disk.device === 'disk' && !disk.readonly);
  const other = writable.filter((disk) => disk.format !== 'qcow2');
  if (other.length > 0) {
    const list = other.map((disk) => `${disk.target} (${disk.format ?? 'unknown format'})`).join(', ');
    throw new JobFailure('snapshot_unsupported', `internal snapshots need qcow2 disks; ${dom.name} has ${list}`, { disks: other.map((x) => x.target) });
  }
  if (writable.length === 0) throw new JobFailure('snapshot_unsupported', `${dom.name} has no qcow2 disk to hold an internal snapshot`);
}
