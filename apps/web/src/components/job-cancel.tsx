import { isFinalJobState } from '@virtfleet/contracts';
import type { Job } from '@virtfleet/sdk';
import { useState } from 'react';
import { useActivity } from '../activity';
import { jobTarget } from '../format';
import { useCanOperate, useClient } from '../session';

/**
 * POST /v1/jobs/:id/cancel: a job not started yet ends at once; a running one is marked, its
 * commands killed on the host, and it ends cancelled when the agent says so.
 */
export function CancelJobButton({ job, small = true }: { job: Job; small?: boolean }) {
  const client = useClient();
  const activity = useActivity();
  const canOperate = useCanOperate();
  const [busy, setBusy] = useState(false);
  if (!canOperate || isFinalJobState(job.state)) return null;
  const asked = Boolean(job.cancelRequestedAt);
  const label = `Cancel ${job.type} ${jobTarget(job)}`.trim();
  return (
    <button
      type="button"
      className={`button button-danger-quiet${small ? ' button-small' : ''}`}
      disabled={busy || asked}
      aria-label={label}
      onClick={() => {
        setBusy(true);
        client.jobs
          .cancel(job.id)
          .catch((err: unknown) => activity.refused(label, err))
          .finally(() => setBusy(false));
      }}
    >
      {asked ? 'Cancelling…' : 'Cancel'}
    </button>
  );
}
