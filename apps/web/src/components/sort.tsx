import { useMemo, useState } from 'react';

// Click a column heading to sort by it, again to reverse: the heading is a button and the
// column says its order to screen readers (aria-sort).

export type SortDir = 'asc' | 'desc';
export interface Sort<K extends string> {
  key: K;
  dir: SortDir;
}

type Getter<T> = (row: T) => string | number | null | undefined;

export function useSorted<T, K extends string>(rows: readonly T[], getters: Record<K, Getter<T>>, initial: Sort<K> | null = null) {
  const [sort, setSort] = useState<Sort<K> | null>(initial);
  const sorted = useMemo(() => {
    if (!sort) return rows;
    const get = getters[sort.key];
    const sign = sort.dir === 'asc' ? 1 : -1;
    return [...rows].sort((a, b) => {
      const x = get(a);
      const y = get(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true })) * sign;
    });
    // getters are written inline by callers: their identity changes every render, their meaning does not
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows, sort]);
  const toggle = (key: K) => setSort((s) => (s?.key === key ? { key, dir: s.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: 'asc' }));
  return { sorted, sort, toggle };
}

export function SortHeader<K extends string>({ label, k, sort, onSort, className }: { label: string; k: K; sort: Sort<K> | null; onSort: (k: K) => void; className?: string }) {
  const active = sort?.key === k;
  return (
    <th scope="col" aria-sort={active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'} className={className}>
      <button type="button" className="sort-button" onClick={() => onSort(k)}>
        {label}
        <span className="sort-mark" aria-hidden="true">
          {active ? (sort.dir === 'asc' ? '▲' : '▼') : '↕'}
        </span>
      </button>
    </th>
  );
}
