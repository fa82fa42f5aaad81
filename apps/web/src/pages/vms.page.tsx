import { powerState } from '@virtfleet/contracts';
import type { Vm, VmFilter } from '@virtfleet/sdk';
import { Link, useSearchParams } from 'react-router';
import { ErrorMessage } from '../components/error-message';
import { Empty, Loading, PageHeader, useTitle } from '../components/layout';
import { useVmList, VmTable } from '../components/vm-table';
import { useCanOperate, useClient } from '../session';
import { useData } from '../use-data';
import { HostFilter } from '../components/host-filter';

const STATUSES: Array<Vm['status']> = ['managed', 'creating', 'unmanaged', 'missing'];

/** Every VM of the fleet: filter by name, host, state; sort by any column; power actions. */
export function VmsPage() {
  useTitle('VMs');
  const client = useClient();
  const canOperate = useCanOperate();
  const [params, setParams] = useSearchParams();
  const hosts = useData((signal) => client.hosts.list({}, { signal }), [client]);
  const filter: VmFilter = {};
  const name = params.get('name') ?? '';
  const hostId = params.get('hostId') ?? '';
  const state = params.get('state') ?? '';
  const status = params.get('status') ?? '';
  if (name) filter.name = name;
  if (hostId) filter.hostId = hostId;
  if (state) filter.state = state as Vm['state'];
  if (status) filter.status = status as Vm['status'];
  const vms = useVmList(filter);

  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };

  return (
    <>
      <PageHeader title="Virtual machines" sub="As their hosts last reported them; states change live.">
        {canOperate ? (
          <Link className="button button-primary" to="/vms/new">
            Create VM
          </Link>
        ) : null}
      </PageHeader>
      <form className="filters" role="search" aria-label="Filter VMs" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="f-name">Name contains</label>
          <input id="f-name" type="search" value={name} onChange={(e) => set('name', e.target.value)} placeholder="Search names" />
        </div>
        <HostFilter id="f-host" hosts={hosts.data} value={hostId} onChange={(v) => set('hostId', v)} />
        <div className="field">
          <label htmlFor="f-state">Power state</label>
          <select id="f-state" value={state} onChange={(e) => set('state', e.target.value)}>
            <option value="">Any</option>
            {powerState.options.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-status">Status</label>
          <select id="f-status" value={status} onChange={(e) => set('status', e.target.value)}>
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        {name || hostId || state || status ? (
          <button type="button" className="button button-quiet" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
            Clear filters
          </button>
        ) : null}
      </form>
      <ErrorMessage error={vms.error ?? hosts.error} />
      {!vms.loaded && vms.loading ? <Loading what="VMs" /> : null}
      {vms.loaded && !vms.items.length ? <Empty>No VM matches.</Empty> : null}
      {vms.items.length ? <VmTable vms={vms.items} hosts={hosts.data ?? []} /> : null}
      {vms.hasMore ? (
        <button type="button" className="button load-more" onClick={() => void vms.loadMore()}>
          Load more
        </button>
      ) : null}
    </>
  );
}
