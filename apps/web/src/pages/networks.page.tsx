import { ErrorMessage } from '../components/error-message';
import { Empty, Loading, PageHeader, useTitle } from '../components/layout';
import { NetworkTable } from '../components/network-table';
import { useLive } from '../live';
import { useClient } from '../session';
import { useData, useThrottled } from '../use-data';

const NETWORK_JOBS: ReadonlySet<string> = new Set(['define-network', 'start-network', 'stop-network', 'set-network-autostart', 'undefine-network']);

/** Every host's libvirt networks, with their DHCP leases. */
export function NetworksPage() {
  useTitle('Networks');
  const client = useClient();
  const networks = useData((signal) => client.networks.list({}, { signal }), [client]);
  const reload = useThrottled(networks.reload, 500);
  useLive((m) => {
    if (m.event === 'resync' || (m.event === 'job.finished' && NETWORK_JOBS.has(m.job.type))) reload();
  });
  return (
    <>
      <PageHeader title="Networks" sub="libvirt networks on each host, as its agent last reported them." />
      <ErrorMessage error={networks.error} />
      {!networks.data && networks.loading ? <Loading what="networks" /> : null}
      {networks.data && !networks.data.length ? <Empty>No libvirt network on any host.</Empty> : null}
      {networks.data?.length ? <NetworkTable networks={networks.data} /> : null}
    </>
  );
}
