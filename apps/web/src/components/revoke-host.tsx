import type { Host } from '@virtfleet/sdk';
import { useState } from 'react';
import { useActivity } from '../activity';
import { useClient, useSession } from '../session';
import { ConfirmDialog } from './dialog';

/**
 * Revoke a host (admin): DELETE /v1/hosts/:id. Asks first and says what it does. Nothing for
 * another scope, nor for a host already revoked.
 */
export function RevokeHostButton({ host, onRevoked, small = false }: { host: Pick<Host, 'id' | 'name' | 'state'>; onRevoked: () => void; small?: boolean }) {
  const { scope } = useSession();
  const client = useClient();
  const activity = useActivity();
  const [asking, setAsking] = useState(false);
  if (scope !== 'admin' || host.state === 'revoked') return null;

  const revoke = async () => {
    try {
      await client.hosts.revoke(host.id);
      onRevoked();
    } catch (err) {
      activity.refused(`Revoke host ${host.name}`, err);
    }
  };

  return (
    <>
      <button type="button" className={`button button-danger-quiet${small ? ' button-small' : ''}`} aria-label={`Revoke host ${host.name}`} onClick={() => setAsking(true)}>
        Revoke host
      </button>
      <ConfirmDialog
        open={asking}
        title={`Revoke host ${host.name}?`}
        message={
          <>
            <p>
              Its agent token stops working and its Redis user is deleted: the agent can no longer take jobs or report. Its VMs are
              not touched and keep running; the host and its history stay, shown as <strong>revoked</strong>.
            </p>
            <p>To bring it back, enroll it again with a new join token and the same name: it gets new credentials.</p>
          </>
        }
        confirm="Revoke host"
        onConfirm={() => void revoke()}
        onClose={() => setAsking(false)}
      />
    </>
  );
}
