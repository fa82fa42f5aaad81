import type { Vm } from '@virtfleet/sdk';
import { useState, type FormEvent } from 'react';
import { useActivity } from '../activity';
import { mib } from '../format';
import { useCanOperate, useClient } from '../session';
import { Dialog } from './dialog';
import { ErrorMessage } from './error-message';
import { isRunning, memoryBody, vcpusBody } from './vm-task-bodies';
import './vm-tasks.css';

/**
 * Set vCPUs, Set memory (jobs set-vcpus, set-memory: --config, and --live where libvirt can) and
 * autostart on or off (job set-autostart), for a managed VM and a token that may operate.
 */
export function VmSettingsButtons({ vm }: { vm: Vm }) {
  const client = useClient();
  const activity = useActivity();
  const canOperate = useCanOperate();
  const [open, setOpen] = useState<'vcpus' | 'memory' | null>(null);
  const [busy, setBusy] = useState(false);
  if (!canOperate || vm.status !== 'managed') return null;

  const toggleAutostart = async () => {
    const label = `${vm.autostart ? 'Disable' : 'Enable'} autostart of ${vm.name}`;
    setBusy(true);
    try {
      activity.track(await client.vms.action(vm.id, 'set-autostart', { enabled: !vm.autostart }), label);
    } catch (err) {
      activity.refused(label, err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="button-row compact" role="group" aria-label={`Settings of ${vm.name}`}>
      <button type="button" className="button button-small" onClick={() => setOpen('vcpus')}>
        Set vCPUs
      </button>
      <button type="button" className="button button-small" onClick={() => setOpen('memory')}>
        Set memory
      </button>
      <button type="button" className="button button-small" disabled={busy} onClick={() => void toggleAutostart()}>
        {vm.autostart ? 'Disable autostart' : 'Enable autostart'}
      </button>
      <VcpusDialog vm={vm} open={open === 'vcpus'} onClose={() => setOpen(null)} />
      <MemoryDialog vm={vm} open={open === 'memory'} onClose={() => setOpen(null)} />
    </div>
  );
}

function VcpusDialog({ vm, open, onClose }: { vm: Vm; open: boolean; onClose: () => void }) {
  const client = useClient();
  const activity = useActivity();
  const [vcpus, setVcpus] = useState('');
  const [maxVcpus, setMaxVcpus] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [shown, setShown] = useState(false);
  if (open !== shown) {
    // Opened: start from what the VM has now.
    setShown(open);
    if (open) {
      setVcpus(String(vm.vcpus));
      setMaxVcpus(String(vm.maxVcpus));
      setError(undefined);
    }
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      activity.track(await client.vms.action(vm.id, 'set-vcpus', vcpusBody(vm, { vcpus, maxVcpus })), `Set vCPUs of ${vm.name}`);
      onClose();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Dialog open={open} title={`Set vCPUs of ${vm.name}`} onClose={onClose}>
      <form className="form-stack" onSubmit={(e) => void submit(e)}>
        <div className="inline-form">
          <div className="field field-small">
            <label htmlFor="set-vcpus">vCPUs</label>
            <input id="set-vcpus" type="number" min={1} value={vcpus} onChange={(e) => setVcpus(e.target.value)} data-autofocus />
          </div>
          <div className="field field-small">
            <label htmlFor="set-max-vcpus">Maximum vCPUs</label>
            <input id="set-max-vcpus" type="number" min={1} value={maxVcpus} onChange={(e) => setMaxVcpus(e.target.value)} />
          </div>
        </div>
        <p className="hint">
          Now {vm.vcpus} of at most {vm.maxVcpus}. Only what you change is sent. {isRunning(vm) ? <WhenRunning what="count" /> : 'Both apply at the next start.'}
        </p>
        <ErrorMessage error={error} title="The API refused the change" />
        <DialogActions onCancel={onClose} submit="Set vCPUs" />
      </form>
    </Dialog>
  );
}

function MemoryDialog({ vm, open, onClose }: { vm: Vm; open: boolean; onClose: () => void }) {
  const client = useClient();
  const activity = useActivity();
  const [memoryMiB, setMemory] = useState('');
  const [maxMemoryMiB, setMaxMemory] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [shown, setShown] = useState(false);
  if (open !== shown) {
    setShown(open);
    if (open) {
      setMemory(String(vm.memoryMiB));
      setMaxMemory(String(vm.maxMemoryMiB));
      setError(undefined);
    }
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      activity.track(await client.vms.action(vm.id, 'set-memory', memoryBody(vm, { memoryMiB, maxMemoryMiB })), `Set memory of ${vm.name}`);
      onClose();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Dialog open={open} title={`Set memory of ${vm.name}`} onClose={onClose}>
      <form className="form-stack" onSubmit={(e) => void submit(e)}>
        <div className="inline-form">
          <div className="field field-small">
            <label htmlFor="set-memory">Memory (MiB)</label>
            <input id="set-memory" type="number" min={1} value={memoryMiB} onChange={(e) => setMemory(e.target.value)} data-autofocus />
          </div>
          <div className="field field-small">
            <label htmlFor="set-max-memory">Maximum memory (MiB)</label>
            <input id="set-max-memory" type="number" min={1} value={maxMemoryMiB} onChange={(e) => setMaxMemory(e.target.value)} />
          </div>
        </div>
        <p className="hint">
          Now {mib(vm.memoryMiB)} of at most {mib(vm.maxMemoryMiB)}. Only what you change is sent.{' '}
          {isRunning(vm) ? (
            <>
              <WhenRunning what="memory" /> A guest without a balloon driver keeps the memory it has.
            </>
          ) : (
            'Both apply at the next start.'
          )}
        </p>
        <ErrorMessage error={error} title="The API refused the change" />
        <DialogActions onCancel={onClose} submit="Set memory" />
      </form>
    </Dialog>
  );
}

/** What a running VM gets at once and what waits for its next boot (docs/vms.md, "now or next boot"). */
function WhenRunning({ what }: { what: string }) {
  return (
    <>
      The VM runs: the {what} changes now where libvirt can (up to the maximum it booted with), else at the next boot; a new maximum always waits
      for the next boot.
    </>
  );
}

export function DialogActions({ onCancel, submit, disabled = false }: { onCancel: () => void; submit: string; disabled?: boolean }) {
  return (
    <div className="form-actions">
      <button type="button" className="button" onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" className="button button-primary" disabled={disabled}>
        {submit}
      </button>
    </div>
  );
}
