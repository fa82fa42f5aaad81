import type { Vm } from '@virtfleet/sdk';
import { useState } from 'react';
import { useActivity } from '../activity';
import { useCanOperate, useClient } from '../session';
import { ConfirmDialog } from './dialog';

/**
 * POST /v1/vms/:id/adopt: an `unmanaged` VM (found on its host, not made through virtfleet) becomes
 * `managed`. Not a job: the API answers with the VM at once; the hosts' next reports and the
 * vm.updated event carry the change to every page.
 */
export function AdoptButton({ vm, onAdopted, compact = false }: { vm: Vm; onAdopted?: (vm: Vm) => void; compact?: boolean }) {
  const client = useClient();
  const activity = useActivity();
  const canOperate = useCanOperate();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!canOperate || vm.status !== 'unmanaged') return null;

  const adopt = async () => {
    setBusy(true);
    try {
      // Called first, then handed on: `onAdopted?.(await …)` would skip the call when there is no onAdopted.
      const adopted = await client.vms.adopt(vm.id);
      onAdopted?.(adopted);
    } catch (err) {
      activity.refused(`Adopt ${vm.name}`, err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button type="button" className={compact ? 'button button-small' : 'button button-small button-primary'} disabled={busy} aria-label={`Adopt ${vm.name}`} onClick={() => setConfirming(true)}>
        Adopt
      </button>
      <ConfirmDialog
        open={confirming}
        title={`Adopt ${vm.name}?`}
        danger={false}
        message={
          <p>
            {vm.name} was found on its host but not made through virtfleet, so nothing here touches it. Adopted, it is managed like the others: its
            power actions, settings, interfaces, snapshots and clones go through virtfleet&rsquo;s jobs. Nothing on the host changes now.
          </p>
        }
        confirm="Adopt"
        onConfirm={() => void adopt()}
        onClose={() => setConfirming(false)}
      />
    </>
  );
}
