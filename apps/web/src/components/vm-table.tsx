import type { Host, Vm, VmFilter } from '@virtfleet/sdk';
import { useCallback, useState } from 'react';
import { Link } from 'react-router';
import { useLive } from '../live';
import { useCanOperate, useClient } from '../session';
import { mib } from '../format';
import { useData, useThrottled } from '../use-data';
import { VmStateBadge } from './badge';
import { SortHeader, useSorted } from './sort';
import { VmPowerButtons } from './vm-actions';
import { AdoptButton } from './adopt-button';
import { DeleteVmButton } from './vm-delete';

/** The guest addresses the host's DHCP leases show for a VM's interfaces. */
export function vmAddresses(vm: Pick<Vm, 'interfaces'>): string[] {
  return vm.interfaces.flatMap((i) => i.addresses ?? []);
}

/**
 * GET /v1/vms pages for a filter, kept current: a VM event changes its row's state at once (and
 * the list is read again shortly after, for what the event does not carry).
 */
export function useVmList(filter: VmFilter) {
  const client = useClient();
  const key = JSON.stringify(filter);
  const [more, setMore] = useState<{ key: string; items: Vm[]; cursor: string | null } | null>(null);
  const first = useData((signal) => client.vms.list({ ...filter, limit: 100 }, { signal }), [client, key]);
  const reload = useThrottled(first.reload, 800);

  useLive((m) => {
    if (m.event === 'resync') return first.reload();
    if (m.event === 'vm.updated') {
      first.set((p) => ({ ...p, items: p.items.map((v) => (v.id === m.id ? { ...v, state: m.vm.state as Vm['state'], status: m.vm.status as Vm['status'] } : v)) }));
      setMore((x) => x && { ...x, items: x.items.map((v) => (v.id === m.id ? { ...v, state: m.vm.state as Vm['state'], status: m.vm.status as Vm['status'] } : v)) });
      reload();
    } else if (m.event === 'vm.removed') {
      first.set((p) => ({ ...p, items: p.items.filter((v) => v.id !== m.id) }));
      setMore((x) => x && { ...x, items: x.items.filter((v) => v.id !== m.id) });
    }
  });

  const extra = more?.key === key ? more : null;
  const items = [...(first.data?.items ?? []), ...(extra?.items ?? [])];
  const cursor = extra ? extra.cursor : (first.data?.nextCursor ?? null);
  const loadMore = useCallback(async () => {
    if (!cursor) return;
    const page = await client.vms.list({ ...filter, limit: 100, cursor });
    setMore((x) => ({ key, items: [...(x?.key === key ? x.items : []), ...page.items], cursor: page.nextCursor }));
    // eslint-disable-next-line react-hooks/exhaustive-deps -- key stands for filter
  }, [client, cursor, key]);
  return { items, loaded: first.data !== undefined, loading: first.loading, error: first.error, hasMore: Boolean(cursor), loadMore, reload: first.reload };
}

export function VmTable({ vms, hosts, showHost = true, label = 'VMs' }: { vms: readonly Vm[]; hosts: readonly Host[]; showHost?: boolean; label?: string }) {
  const canOperate = useCanOperate();
  const hostName = (id: string) => hosts.find((h) => h.id === id)?.name ?? id.slice(0, 8);
  const { sorted, sort, toggle } = useSorted(vms, {
    name: (v: Vm) => v.name,
    host: (v) => hostName(v.hostId),
    state: (v) => (v.status === 'managed' ? v.state : v.status),
    vcpus: (v) => v.vcpus,
    memory: (v) => v.memoryMiB,
    ip: (v) => vmAddresses(v)[0],
  });
  return (
    <div className="table-wrap">
      <table className="table" aria-label={label}>
        <thead>
          <tr>
            <SortHeader label="Name" k="name" sort={sort} onSort={toggle} />
            {showHost ? <SortHeader label="Host" k="host" sort={sort} onSort={toggle} /> : null}
            <SortHeader label="State" k="state" sort={sort} onSort={toggle} />
            <SortHeader label="vCPUs" k="vcpus" sort={sort} onSort={toggle} className="num" />
            <SortHeader label="Memory" k="memory" sort={sort} onSort={toggle} className="num" />
            <SortHeader label="Addresses" k="ip" sort={sort} onSort={toggle} />
            <th scope="col" className="num">
              Disks
            </th>
            {canOperate ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {sorted.map((vm) => (
            <tr key={vm.id} data-vm={vm.name}>
              <td className="nowrap">
                <Link to={`/vms/${vm.id}`} className="strong-link">
                  {vm.name}
                </Link>
                {Object.keys(vm.labels).length ? (
                  <div className="sub">
                    {Object.entries(vm.labels)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(' ')}
                  </div>
                ) : null}
              </td>
              {showHost ? (
                <td className="nowrap">
                  <Link to={`/hosts/${vm.hostId}`}>{hostName(vm.hostId)}</Link>
                </td>
              ) : null}
              <td className="vm-state">
                <VmStateBadge vm={vm} />
              </td>
              <td className="num">{vm.vcpus}</td>
              <td className="num">{mib(vm.memoryMiB)}</td>
              <td className="mono">{vmAddresses(vm).join(', ') || <span className="muted">—</span>}</td>
              <td className="num">{vm.disks.filter((d) => d.device === 'disk').length}</td>
              {canOperate ? (
                <td>
                  <div className="button-row compact">
                    <VmPowerButtons vm={vm} compact />
                    <AdoptButton vm={vm} compact />
                    <DeleteVmButton vm={vm} compact />
                  </div>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
