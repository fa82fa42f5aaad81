import { nicModel } from '@virtfleet/contracts';
import type { Vm } from '@virtfleet/sdk';
import { useState, type FormEvent } from 'react';
import { useActivity } from '../activity';
import { useCanOperate, useClient } from '../session';
import { useData } from '../use-data';
import { ConfirmDialog, Dialog } from './dialog';
import { ErrorMessage } from './error-message';
import { DialogActions } from './vm-settings-dialog';
import { attachBody, isRunning, type NicDraft, type NicModel } from './vm-task-bodies';
import './vm-tasks.css';

const EMPTY: NicDraft = { kind: 'network', value: '', model: 'virtio', mac: '', live: true, config: true };

/** POST /v1/vms/:id/interfaces (job attach-interface): a NIC on one of the host's libvirt networks or on a host bridge. */
export function AttachInterfaceButton({ vm }: { vm: Vm }) {
  const canOperate = useCanOperate();
  const [open, setOpen] = useState(false);
  if (!canOperate || vm.status !== 'managed') return null;
  return (
    <>
      <button type="button" className="button button-small" onClick={() => setOpen(true)}>
        Attach interface
      </button>
      <AttachDialog vm={vm} open={open} onClose={() => setOpen(false)} />
    </>
  );
}

function AttachDialog({ vm, open, onClose }: { vm: Vm; open: boolean; onClose: () => void }) {
  const client = useClient();
  const activity = useActivity();
  const [d, setD] = useState<NicDraft>(EMPTY);
  const [error, setError] = useState<unknown>(undefined);
  const [shown, setShown] = useState(false);
  const networks = useData((signal) => (open ? client.networks.list({ hostId: vm.hostId }, { signal }) : Promise.resolve(undefined)), [client, vm.hostId, open]);
  const names = [...new Set((networks.data ?? []).map((n) => n.name))];
  if (open !== shown) {
    setShown(open);
    if (open) {
      setD(EMPTY);
      setError(undefined);
    }
  }
  // The first network the host has, once they are read.
  if (open && d.kind === 'network' && !d.value && names[0]) setD({ ...d, value: names[0] });
  const set = (patch: Partial<NicDraft>) => setD({ ...d, ...patch });
  const running = isRunning(vm);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      activity.track(await client.vms.attachInterface(vm.id, attachBody(d, running)), `Attach interface to ${vm.name}`);
      onClose();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Dialog open={open} title={`Attach an interface to ${vm.name}`} onClose={onClose}>
      <form className="form-stack" onSubmit={(e) => void submit(e)}>
        <div className="inline-form">
          <div className="field">
            <label htmlFor="nic-kind">Attach to</label>
            <select id="nic-kind" value={d.kind} onChange={(e) => set({ kind: e.target.value as NicDraft['kind'], value: '' })} data-autofocus>
              <option value="network">libvirt network</option>
              <option value="bridge">host bridge</option>
            </select>
          </div>
          <div className="field field-grow">
            <label htmlFor="nic-value">{d.kind === 'network' ? 'Network' : 'Bridge'}</label>
            {d.kind === 'network' ? (
              <select id="nic-value" value={d.value} onChange={(e) => set({ value: e.target.value })}>
                {names.length ? null : <option value="">{networks.loading ? 'Reading networks…' : 'No network on this host'}</option>}
                {names.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            ) : (
              <input id="nic-value" value={d.value} onChange={(e) => set({ value: e.target.value })} placeholder="br0" />
            )}
          </div>
        </div>
        <div className="inline-form">
          <div className="field field-small">
            <label htmlFor="nic-model">Model</label>
            <select id="nic-model" value={d.model} onChange={(e) => set({ model: e.target.value as NicModel })}>
              {nicModel.options.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </div>
          <div className="field field-grow">
            <label htmlFor="nic-mac">MAC (optional)</label>
            <input id="nic-mac" value={d.mac} onChange={(e) => set({ mac: e.target.value })} placeholder="the API picks one (52:54:00:…)" />
          </div>
        </div>
        <fieldset className="vm-task-where">
          <legend>Where it applies</legend>
          {running ? (
            <label className="check">
              <input type="checkbox" checked={d.live} onChange={(e) => set({ live: e.target.checked })} /> The running VM, now
            </label>
          ) : null}
          <label className="check">
            <input type="checkbox" checked={d.config} onChange={(e) => set({ config: e.target.checked })} /> Its saved definition (kept at the next start)
          </label>
        </fieldset>
        <ErrorMessage error={networks.error} />
        <ErrorMessage error={error} title="The API refused the interface" />
        <DialogActions onCancel={onClose} submit="Attach" />
      </form>
    </Dialog>
  );
}

/** DELETE /v1/vms/:id/interfaces/:mac (job detach-interface), asked first; live when the VM runs, and from its definition. */
export function DetachInterfaceButton({ vm, mac }: { vm: Vm; mac: string }) {
  const client = useClient();
  const activity = useActivity();
  const canOperate = useCanOperate();
  const [confirming, setConfirming] = useState(false);
  if (!canOperate || vm.status !== 'managed') return null;

  const detach = async () => {
    const label = `Detach ${mac} from ${vm.name}`;
    try {
      activity.track(await client.vms.detachInterface(vm.id, mac), label);
    } catch (err) {
      activity.refused(label, err);
    }
  };

  return (
    <>
      <button type="button" className="button button-small button-danger-quiet" aria-label={`Detach ${mac}`} onClick={() => setConfirming(true)}>
        Detach
      </button>
      <ConfirmDialog
        open={confirming}
        title={`Detach ${mac} from ${vm.name}?`}
        message={
          <p>
            The interface is removed from the VM&rsquo;s definition{isRunning(vm) ? ' and from the running VM' : ''}.
            {isRunning(vm) ? ' The guest is asked to release it (hot-unplug): one without hotplug support keeps it until it stops.' : ''}
          </p>
        }
        confirm="Detach"
        onConfirm={() => void detach()}
        onClose={() => setConfirming(false)}
      />
    </>
  );
}
