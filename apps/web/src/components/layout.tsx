import { useEffect, type ReactNode } from 'react';
import { NavLink, Outlet } from 'react-router';
import { useLiveStatus } from '../live';
import { useSession } from '../session';
import { Icon, type IconName } from './icons';

const NAV: Array<{ to: string; label: string; icon: IconName; end?: boolean }> = [
  { to: '/', label: 'Fleet', icon: 'fleet', end: true },
  { to: '/vms', label: 'VMs', icon: 'vms' },
  { to: '/jobs', label: 'Jobs', icon: 'jobs' },
  { to: '/networks', label: 'Networks', icon: 'networks' },
  { to: '/disks', label: 'Disks', icon: 'disks' },
];

/** Shown only to an admin token: every route behind them answers 403 to any other. */
const ADMIN_NAV: Array<{ to: string; label: string; icon: IconName }> = [
  { to: '/admin/hosts', label: 'Hosts', icon: 'hosts' },
  { to: '/admin/tokens', label: 'API tokens', icon: 'tokens' },
  { to: '/admin/webhooks', label: 'Webhooks', icon: 'webhooks' },
  { to: '/admin/audit', label: 'Audit log', icon: 'audit' },
];

function NavItem({ to, label, icon, end }: { to: string; label: string; icon: IconName; end?: boolean | undefined }) {
  return (
    <li>
      <NavLink to={to} end={end} className={({ isActive }) => (isActive ? 'nav-link active' : 'nav-link')}>
        <Icon name={icon} />
        {label}
      </NavLink>
    </li>
  );
}

const LIVE_WORDS = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…' } as const;

/** Side navigation, the header (live status, the token, log out) and the page. */
export function Layout() {
  const { scope, tokenName, tokenHint, signOut } = useSession();
  const live = useLiveStatus();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <img src="/favicon.svg" alt="" width="28" height="28" />
          <span>virtfleet</span>
        </div>
        <ul>
          {NAV.map((n) => (
            <NavItem key={n.to} {...n} />
          ))}
        </ul>
        {scope === 'admin' ? (
          <>
            <h2 className="nav-heading" id="nav-admin">
              Administration
            </h2>
            <ul aria-labelledby="nav-admin">
              {ADMIN_NAV.map((n) => (
                <NavItem key={n.to} {...n} />
              ))}
            </ul>
          </>
        ) : null}
        <div className="sidebar-foot">
          <a href="/docs" target="_blank" rel="noreferrer">
            API reference
          </a>
        </div>
      </nav>
      <div className="main-column">
        <header className="topbar">
          <span className={`live live-${live}`} role="status" title="Server-sent events from GET /v1/events">
            <span className="live-dot" aria-hidden="true" />
            {LIVE_WORDS[live]}
          </span>
          <span className="whoami">
            <span className={`scope scope-${scope}`} title={`This token's scope: ${scope}`}>
              {scope}
            </span>
            <span className="token-name">{tokenName}</span>
            <code>{tokenHint}</code>
          </span>
          <button type="button" className="button button-quiet" onClick={() => signOut()}>
            <Icon name="logout" />
            Log out
          </button>
        </header>
        <main id="main" tabIndex={-1}>
          <Outlet />
        </main>
      </div>
    </div>
  );
}

/** The tab's title: the page, then the product (screen readers announce it on navigation). */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · virtfleet` : 'virtfleet';
  }, [title]);
}

/** A page's title row: the heading, what it is about, and its main buttons. */
export function PageHeader({ title, sub, children }: { title: ReactNode; sub?: ReactNode; children?: ReactNode }) {
  return (
    <div className="page-header">
      <div>
        <h1>{title}</h1>
        {sub ? <p className="page-sub">{sub}</p> : null}
      </div>
      {children ? <div className="page-actions">{children}</div> : null}
    </div>
  );
}

/** A titled block of a page. */
export function Section({ title, id, actions, children }: { title: string; id?: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="section" aria-labelledby={id ? `${id}-h` : undefined} id={id}>
      <div className="section-header">
        <h2 id={id ? `${id}-h` : undefined}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}
