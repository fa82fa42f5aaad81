import type { Vm, VmAction } from '@virtfleet/sdk';
import { useState } from 'react';
import { useActivity } from '../activity';
import { useCanOperate, useClient } from '../session';
import { ConfirmDialog } from './dialog';

type Power = Extract<VmAction, 'start' | 'shutdown' | 'reboot' | 'suspend' | 'resume' | 'destroy'>;

const LABELS: Record<Power, string> = {
  start: 'Start',
  shutdown: 'Shut down',
  reboot: 'Reboot',
  suspend: 'Suspend',
  resume: 'Resume',
  destroy: 'Destroy',
};

/** The power actions that make sense in a state (a shut-off VM can only be started …). */
export function powerActions(vm: Pick<Vm, 'state' | 'status'>): Power[] {
  if (vm.status !== 'managed') return [];
  switch (vm.state) {
    case 'running':
    case 'blocked':
      return ['shutdown', 'reboot', 'suspend', 'destroy'];
    case 'paused':
      return ['resume', 'destroy'];
    case 'pmsuspended':
    case 'shutdown':
    case 'crashed':
      return ['destroy'];
    case 'shutoff':
    case 'nostate':
      return ['start'];
  }
}

/**
 * Start, shut down, reboot, suspend, resume, destroy: each submits the action's job and follows
 * it in the activity tray. Only for tokens with the operate scope.
 */
export function VmPowerButtons({ vm, compact = false }: { vm: Vm; compact?: boolean }) {
  const client = useClient();
  const activity = useActivity();
  const canOperate = useCanOperate();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState<Power | null>(null);
  if (!canOperate) return null;
  const actions = powerActions(vm);
  if (!actions.length) return null;

  const run = async (action: Power) => {
    setBusy(action);
    const label = `${LABELS[action]} ${vm.name}`;
    try {
      activity.track(await client.vms.action(vm.id, action), label);
    } catch (err) {
      activity.refused(label, err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className={compact ? 'button-row compact' : 'button-row'} role="group" aria-label={`Power actions for ${vm.name}`}>
      {actions.map((a) => (
        <button
          key={a}
          type="button"
          className={a === 'destroy' ? 'button button-small button-danger-quiet' : 'button button-small'}
          disabled={busy !== null}
          aria-label={`${LABELS[a]} ${vm.name}`}
          onClick={() => (a === 'destroy' ? setConfirming(true) : void run(a))}
        >
          {LABELS[a]}
        </button>
      ))}
      <ConfirmDialog
        open={confirming}
        title={`Destroy ${vm.name}?`}
        message={
          <p>
            Destroy cuts the power at once, as pulling the plug does: the guest gets no chance to shut down and unsaved data in it is lost. The VM and its
            disks stay; start it again later.
          </p>
        }
        confirm="Destroy"
        onConfirm={() => void run('destroy')}
        onClose={() => setConfirming(false)}
      />
    </div>
  );
}
