import type { ReactNode } from 'react';
import { useSession } from '../session';
import { PageHeader, useTitle } from './layout';

/**
 * An administration page: the page itself for an admin token; for any other a plain word on what
 * it needs (the API would answer every call on it with 403), not a page of refused calls.
 */
export function AdminOnly({ title, children }: { title: string; children: ReactNode }) {
  const { scope } = useSession();
  if (scope === 'admin') return children;
  return <NeedsAdmin title={title} scope={scope} />;
}

function NeedsAdmin({ title, scope }: { title: string; scope: string }) {
  useTitle(title);
  return (
    <>
      <PageHeader title={title} />
      <p className="notice" role="status">
        This page needs an admin token: the one you signed in with has the <strong>{scope}</strong> scope. Log out and sign in with a token made with the{' '}
        <code>admin</code> scope to see it.
      </p>
    </>
  );
}
