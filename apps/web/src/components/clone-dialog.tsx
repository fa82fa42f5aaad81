import type { CloneVmBody, Vm } from '@virtfleet/sdk';
import { useState, type FormEvent } from 'react';
import { useActivity } from '../activity';
import { useCanOperate, useClient } from '../session';
import { Dialog } from './dialog';
import { ErrorMessage } from './error-message';

/**
 * POST /v1/vms/:id/clone (job clone-vm, virt-clone's work): one clone by name, or several by a
 * pattern ("web-{n}") under a parent job. The agent copies each disk with progress.
 */
export function CloneButton({ vm }: { vm: Vm }) {
  const client = useClient();
  const activity = useActivity();
  const canOperate = useCanOperate();
  const [open, setOpen] = useState(false);
  const [many, setMany] = useState(false);
  const [name, setName] = useState('');
  const [pattern, setPattern] = useState(`${vm.name}-{n}`);
  const [count, setCount] = useState('2');
  const [start, setStart] = useState(false);
  const [shutdownSource, setShutdownSource] = useState(true);
  const [error, setError] = useState<unknown>(undefined);
  if (!canOperate || vm.status !== 'managed') return null;
  const running = vm.state !== 'shutoff' && vm.state !== 'nostate' && vm.state !== 'crashed';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const options = { start, ...(start ? { waitFor: 'running' as const } : {}), ...(running && !many ? { shutdownSource } : {}) };
    const body: CloneVmBody = many ? { namePattern: pattern.trim(), count: Number(count), ...options } : { name: name.trim(), ...options };
    try {
      const job = await client.vms.clone(vm.id, body);
      activity.track(job, many ? `Clone ${vm.name} × ${count}` : `Clone ${vm.name} → ${name.trim()}`);
      setOpen(false);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <button type="button" className="button button-small" onClick={() => setOpen(true)} aria-label={`Clone ${vm.name}`}>
        Clone
      </button>
      <Dialog open={open} title={`Clone ${vm.name}`} onClose={() => setOpen(false)}>
        <form className="form-stack" onSubmit={(e) => void submit(e)}>
          <fieldset className="choice-row">
            <legend className="sr-only">How many</legend>
            <label className={`choice${!many ? ' chosen' : ''}`}>
              <input type="radio" name="clone-many" checked={!many} onChange={() => setMany(false)} />
              <span className="choice-title">One clone</span>
            </label>
            <label className={`choice${many ? ' chosen' : ''}`}>
              <input type="radio" name="clone-many" checked={many} onChange={() => setMany(true)} />
              <span className="choice-title">Several</span>
            </label>
          </fieldset>
          {many ? (
            <div className="inline-form">
              <div className="field field-grow">
                <label htmlFor="clone-pattern">Names ({'{n}'} is the number)</label>
                <input id="clone-pattern" required value={pattern} onChange={(e) => setPattern(e.target.value)} />
              </div>
              <div className="field field-small">
                <label htmlFor="clone-count">How many</label>
                <input id="clone-count" type="number" min={2} max={100} required value={count} onChange={(e) => setCount(e.target.value)} />
              </div>
            </div>
          ) : (
            <div className="field">
              <label htmlFor="clone-name">Name of the clone</label>
              <input id="clone-name" required value={name} onChange={(e) => setName(e.target.value)} placeholder={`${vm.name}-clone`} />
            </div>
          )}
          <label className="check">
            <input type="checkbox" checked={start} onChange={(e) => setStart(e.target.checked)} /> Start the clone{many ? 's' : ''} afterwards
          </label>
          {running && !many ? (
            <label className="check">
              <input type="checkbox" checked={shutdownSource} onChange={(e) => setShutdownSource(e.target.checked)} /> Shut {vm.name} down for the copy (it is started again)
            </label>
          ) : null}
          {running ? (
            <p className="hint">
              {vm.name} is {vm.state.replace('shutoff', 'shut off')}: its disks are copied only while it is shut off{many ? ', so several clones need it shut down first' : ''}.
            </p>
          ) : null}
          <ErrorMessage error={error} title="The API refused the clone" />
          <div className="form-actions">
            <button type="button" className="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
            <button type="submit" className="button button-primary">
              Clone
            </button>
          </div>
        </form>
      </Dialog>
    </>
  );
}
