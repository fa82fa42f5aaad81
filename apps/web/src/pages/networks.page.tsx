import { ErrorMessage } from '../components/error-message';
import { Empty, Loading, PageHeader, Section, useTitle } from '../components/layout';
import { NetworkDefineForm } from '../components/network-define-form';
import { NetworkTable } from '../components/network-table';
import { useLive } from '../live';
import { useCanOperate, useClient } from '../session';
import { useData, useThrottled } from '../use-data';

const NETWORK_JOBS: ReadonlySet<string> = new Set(['define-network', 'start-network', 'stop-network', 'set-network-autostart', 'undefine-network']);

/** Every host's libvirt networks, with their DHCP leases; define one, start, stop, autostart, undefine. */
export function NetworksPage() {
  useTitle('Networks');
  const client = useClient();
  const canOperate = useCanOperate();
  const networks = useData((signal) => client.networks.list({}, { signal }), [client]);
  const hosts = useData((signal) => client.hosts.list({}, { signal }), [client]);
  const reload = useThrottled(networks.reload, 500);
  useLive((m) => {
    if (m.event === 'resync' || (m.event === 'job.finished' && NETWORK_JOBS.has(m.job.type))) reload();
  });
  return (
    <>
      <PageHeader title="Networks" sub="libvirt networks on each host, as its agent last reported them." />
      {canOperate && hosts.data ? <NetworkDefineForm hosts={hosts.data.filter((h) => h.state !== 'revoked')} /> : null}
      <Section title="All networks" id="networks">
        <ErrorMessage error={networks.error ?? hosts.error} />
        {!networks.data && networks.loading ? <Loading what="networks" /> : null}
        {networks.data && !networks.data.length ? <Empty>No libvirt network on any host.</Empty> : null}
        {networks.data?.length ? <NetworkTable networks={networks.data} /> : null}
      </Section>
    </>
  );
}
