import { Navigate, Route, Routes } from 'react-router';
import { ActivityProvider } from './activity';
import { AdminOnly } from './components/admin-only';
import { Layout } from './components/layout';
import { LiveProvider } from './live';
import { AdminHostsPage } from './pages/admin-hosts.page';
import { AuditPage } from './pages/audit.page';
import { DisksPage } from './pages/disks.page';
import { FleetPage } from './pages/fleet.page';
import { HostPage } from './pages/host.page';
import { JobPage } from './pages/job.page';
import { JobsPage } from './pages/jobs.page';
import { LoginPage } from './pages/login.page';
import { NetworksPage } from './pages/networks.page';
import { NotFoundPage } from './pages/not-found.page';
import { TokensPage } from './pages/tokens.page';
import { VmCreatePage } from './pages/vm-create.page';
import { VmPage } from './pages/vm.page';
import { VmsPage } from './pages/vms.page';
import { WebhooksPage } from './pages/webhooks.page';
import { SessionProvider, useSessionState } from './session';

export function App() {
  return (
    <SessionProvider>
      <Gate />
    </SessionProvider>
  );
}

/** Signed in: the console; not: the login page, whatever the URL (it is kept for after). */
function Gate() {
  const { session, restoring } = useSessionState();
  if (restoring) {
    return (
      <p className="loading center" role="status">
        Signing in…
      </p>
    );
  }
  if (!session) return <LoginPage />;
  return (
    <LiveProvider>
      <ActivityProvider>
        <Routes>
          <Route element={<Layout />}>
            <Route index element={<FleetPage />} />
            <Route path="hosts/:id" element={<HostPage />} />
            <Route path="vms" element={<VmsPage />} />
            <Route path="vms/new" element={<VmCreatePage />} />
            <Route path="vms/:id" element={<VmPage />} />
            <Route path="jobs" element={<JobsPage />} />
            <Route path="jobs/:id" element={<JobPage />} />
            <Route path="networks" element={<NetworksPage />} />
            <Route path="disks" element={<DisksPage />} />
            {/* Administration: every route behind these answers an admin token only. */}
            <Route
              path="admin/hosts"
              element={
                <AdminOnly title="Hosts">
                  <AdminHostsPage />
                </AdminOnly>
              }
            />
            <Route
              path="admin/tokens"
              element={
                <AdminOnly title="API tokens">
                  <TokensPage />
                </AdminOnly>
              }
            />
            <Route
              path="admin/webhooks"
              element={
                <AdminOnly title="Webhooks">
                  <WebhooksPage />
                </AdminOnly>
              }
            />
            <Route
              path="admin/audit"
              element={
                <AdminOnly title="Audit log">
                  <AuditPage />
                </AdminOnly>
              }
            />
            <Route path="admin" element={<Navigate to="/admin/hosts" replace />} />
            <Route path="login" element={<Navigate to="/" replace />} />
            <Route path="*" element={<NotFoundPage />} />
          </Route>
        </Routes>
      </ActivityProvider>
    </LiveProvider>
  );
}
