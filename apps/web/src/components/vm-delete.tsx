import type { Job, Vm } from '@virtfleet/sdk';
import { useState } from 'react';
import { useActivity } from '../activity';
import { useCanOperate, useClient } from '../session';
import { Dialog } from './dialog';
import { ErrorMessage } from './error-message';
import { isRunning, undefineOptions } from './vm-task-bodies';
import './vm-tasks.css';

/**
 * DELETE /v1/vms/:id (job undefine-vm): asks first, with the disks and snapshots as choices; the
 * dialog stays open with the API's words when it refuses (vm_has_snapshots …). A managed VM or a
 * missing one (its record only); an unmanaged one is not virtfleet's to delete.
 */
export function DeleteVmButton({ vm, compact = false, onSubmitted }: { vm: Vm; compact?: boolean; onSubmitted?: (job: Job<'undefine-vm'>) => void }) {
  const canOperate = useCanOperate();
  const [open, setOpen] = useState(false);
  if (!canOperate || vm.status === 'unmanaged' || vm.status === 'creating') return null;
  return (
    <>
      <button
        type="button"
        className="button button-small button-danger-quiet"
        aria-label={compact ? `Delete ${vm.name}` : `Delete VM ${vm.name}`}
        onClick={() => setOpen(true)}
      >
        {compact ? 'Delete' : 'Delete VM'}
      </button>
      <DeleteVmDialog vm={vm} open={open} onClose={() => setOpen(false)} onSubmitted={onSubmitted} />
    </>
  );
}

function DeleteVmDialog({ vm, open, onClose, onSubmitted }: { vm: Vm; open: boolean; onClose: () => void; onSubmitted?: ((job: Job<'undefine-vm'>) => void) | undefined }) {
  const client = useClient();
  const activity = useActivity();
  const [removeStorage, setRemoveStorage] = useState(false);
  const [deleteSnapshots, setDeleteSnapshots] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [shown, setShown] = useState(false);
  if (open !== shown) {
    // Opened: nothing beyond the VM itself is chosen.
    setShown(open);
    if (open) {
      setRemoveStorage(false);
      setDeleteSnapshots(false);
      setError(undefined);
    }
  }
  const snapshots = vm.snapshots.length;
  const disks = vm.disks.filter((d) => d.device === 'disk').length;

  const submit = async () => {
    setError(undefined);
    setBusy(true);
    try {
      const job = await client.vms.undefine(vm.id, undefineOptions({ removeStorage, deleteSnapshots }, snapshots > 0));
      activity.track(job, `Delete ${vm.name}`);
      onSubmitted?.(job);
      onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} title={`Delete ${vm.name}?`} onClose={onClose}>
      <div className="form-stack">
        <div className="confirm-message">
          {vm.status === 'missing' ? (
            <p>The domain is no longer on its host: only what virtfleet knows of it goes.</p>
          ) : (
            <p>
              The VM is removed from its host (<code>virsh undefine</code>) and from virtfleet.{' '}
              {isRunning(vm) ? <strong>It runs now: it is stopped first, at once, as Destroy does (the guest gets no chance to shut down).</strong> : null}{' '}
              This cannot be undone.
            </p>
          )}
        </div>
        <fieldset className="vm-task-where">
          <legend>With it</legend>
          <label className="check">
            <input type="checkbox" checked={removeStorage} onChange={(e) => setRemoveStorage(e.target.checked)} disabled={disks === 0} /> Also delete its
            disks{disks ? ` (${disks})` : ' (it has none)'}: only those inside the host&rsquo;s storage root; others are left where they are
          </label>
          {snapshots ? (
            <label className="check">
              <input type="checkbox" checked={deleteSnapshots} onChange={(e) => setDeleteSnapshots(e.target.checked)} /> Delete its {snapshots}{' '}
              snapshot{snapshots === 1 ? '' : 's'} (a VM with snapshots is only deleted with them)
            </label>
          ) : null}
        </fieldset>
        <ErrorMessage error={error} title="The API refused to delete it" />
        <div className="form-actions">
          {/* The safe answer has the focus: Enter does not delete by accident. */}
          <button type="button" className="button" onClick={onClose} data-autofocus>
            Cancel
          </button>
          <button type="button" className="button button-danger" disabled={busy} onClick={() => void submit()}>
            Delete VM
          </button>
        </div>
      </div>
    </Dialog>
  );
}
