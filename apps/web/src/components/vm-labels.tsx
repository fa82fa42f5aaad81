import type { Vm } from '@virtfleet/sdk';
import { useState, type FormEvent } from 'react';
import { useCanOperate, useClient } from '../session';
import { Dialog } from './dialog';
import { ErrorMessage } from './error-message';
import { DialogActions } from './vm-settings-dialog';
import { labelsBody, labelsText } from './vm-task-bodies';
import './vm-tasks.css';

/** A VM's labels as key=value chips. */
export function LabelChips({ labels }: { labels: Record<string, string> }) {
  const entries = Object.entries(labels);
  if (!entries.length) return <span className="muted">none</span>;
  return (
    <ul className="label-chips" aria-label="Labels">
      {entries.map(([k, v]) => (
        <li key={k}>
          <code className="label-chip">
            {k}={v}
          </code>
        </li>
      ))}
    </ul>
  );
}

/**
 * PATCH /v1/vms/:id: the VM's labels (API-side only: nothing on the host changes), replaced by
 * those typed. Not a job: the API answers with the VM at once.
 */
export function EditLabelsButton({ vm, onSaved }: { vm: Vm; onSaved: (vm: Vm) => void }) {
  const canOperate = useCanOperate();
  const [open, setOpen] = useState(false);
  if (!canOperate) return null;
  return (
    <>
      <button type="button" className="button button-small" onClick={() => setOpen(true)}>
        Edit labels
      </button>
      <LabelsDialog vm={vm} open={open} onClose={() => setOpen(false)} onSaved={onSaved} />
    </>
  );
}

function LabelsDialog({ vm, open, onClose, onSaved }: { vm: Vm; open: boolean; onClose: () => void; onSaved: (vm: Vm) => void }) {
  const client = useClient();
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [shown, setShown] = useState(false);
  if (open !== shown) {
    // Opened: start from the labels the VM has now.
    setShown(open);
    if (open) {
      setText(labelsText(vm.labels));
      setError(undefined);
    }
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      onSaved(await client.vms.patch(vm.id, labelsBody(text)));
      onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} title={`Labels of ${vm.name}`} onClose={onClose}>
      <form className="form-stack" onSubmit={(e) => void submit(e)}>
        <div className="field">
          <label htmlFor="vm-labels-text">Labels, one key=value a line</label>
          <textarea
            id="vm-labels-text"
            className="mono"
            rows={6}
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder={'tier=web\nteam=payments'}
            spellCheck={false}
            aria-describedby="vm-labels-hint"
            data-autofocus
          />
        </div>
        <p className="hint" id="vm-labels-hint">
          These replace the VM&rsquo;s labels (an empty field removes them all). They are virtfleet&rsquo;s only: the host and the guest do not see
          them; <code>GET /v1/vms?label=</code> filters by them.
        </p>
        <ErrorMessage error={error} title="The API refused the labels" />
        <DialogActions onCancel={onClose} submit="Save labels" disabled={busy} />
      </form>
    </Dialog>
  );
}
