import { SAFE_NAME_PATTERN } from '@virtfleet/contracts';
import { checkUuid, UnsafeValueError } from './virt-install';

// Internal snapshots (qcow2), always by domain UUID. Measured on libvirt 9.0 / QEMU 7.2 (TCG),
// see the host reference §8: under -q a successful create, revert or delete prints nothing;
// creating a running domain's snapshot saves its memory into the image (0.26 s for a tiny guest);
// revert leaves the domain as it was at the snapshot ("running (from snapshot)" or "shut off").
// Every value is its own argv element (never one shell string); in a virsh batch (inventory.ts
// DomainAction) each of these words is single-quoted by quoteVirshArg, which virsh's own parser
// reads back as the same word. virsh takes the word after --description as its value even when it
// starts with "-", in argv form and in a batch (checked on test:/// and qemu:///system).

/** Saving a large guest's memory takes a while; the job's own limit bounds it too. */
export const SNAPSHOT_TIMEOUT_MS = 1_800_000;

const MAX_DESCRIPTION = 1000;

function checkSnapshotName(name: unknown): string {
  if (typeof name !== 'string' || !SAFE_NAME_PATTERN.test(name)) {
    throw new UnsafeValueError('name', 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
  return name;
}

function checkDescription(description: unknown): string {
  if (typeof description !== 'string') throw new UnsafeValueError('description', 'must be a string');
  if (description.length > MAX_DESCRIPTION) throw new UnsafeValueError('description', `longer than ${MAX_DESCRIPTION} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(description)) throw new UnsafeValueError('description', 'control character');
  return description;
}

/** The words after `virsh -q -c URI` of a snapshot-create-as, checked (UnsafeValueError otherwise). */
export function snapshotCreateAsArgs(uuid: string, name: string, description?: string): string[] {
  const desc = description === undefined || description === '' ? [] : ['--description', checkDescription(description)];
  return ['snapshot-create-as', '--domain', checkUuid('uuid', uuid), '--name', checkSnapshotName(name), ...desc];
}

/** The words of a snapshot-revert or snapshot-delete, checked. */
export function snapshotNamedArgs(action: 'snapshot-revert' | 'snapshot-delete', uuid: string, name: string): string[] {
  return [action, '--domain', checkUuid('uuid', uuid), '--snapshotname', checkSnapshotName(name)];
}

/** The name virsh snapshot-create gives when none is asked for: epoch seconds. */
export function defaultSnapshotName(now: Date = new Date()): string {
  return String(Math.floor(now.getTime() / 1000));
}
