import type { StoreDisk } from '@virtfleet/contracts';
import { planStoreSync, storeSyncIsEmpty, type DiskRow } from './disk-inventory';

// A storage scan against the host's disk rows: what it would write. The inventory route skips
// the transaction when nothing would be written (InventoryService.storageUnchanged).

const taken = new Date('2026-11-26T05:00:00.000Z');
const before = new Date('2026-11-26T04:00:00.000Z');
const after = new Date('2026-11-26T06:00:00.000Z');

const scan = (name: string, over: Partial<StoreDisk> = {}): StoreDisk => ({
  name,
  format: 'qcow2',
  path: `/store/${name}.qcow2`,
  virtualSize: 1024,
  actualSize: 196_608,
  ...over,
});

const row = (name: string, over: Partial<DiskRow> = {}): DiskRow => ({
  id: `id-${name}`,
  name,
  state: 'ready',
  format: 'qcow2',
  path: `/store/${name}.qcow2`,
  virtualSize: 1024n,
  actualSize: 196_608n,
  backingFile: null,
  backingFormat: null,
  refused: null,
  seenAt: before,
  updatedAt: before,
  ...over,
});

describe('planStoreSync', () => {
  it('writes nothing when the scan finds what the rows say', () => {
    expect(storeSyncIsEmpty(planStoreSync([row('a'), row('b')], [scan('a'), scan('b')], taken))).toBe(true);
  });

  it('creates new files, updates changed ones, drops vanished ones', () => {
    const plan = planStoreSync([row('a'), row('b'), row('gone')], [scan('a', { actualSize: 5 }), scan('b'), scan('new')], taken);
    expect(plan.create.map((c) => c.name)).toEqual(['new']);
    expect(plan.update.map((u) => u.id)).toEqual(['id-a']);
    expect(plan.update[0]?.data).toMatchObject({ actualSize: 5n, seenAt: taken });
    expect(plan.gone).toEqual(['id-gone']);
    expect(storeSyncIsEmpty(plan)).toBe(false);
  });

  it('leaves disks a job is creating, and rows written after the scan', () => {
    const plan = planStoreSync([row('creating', { state: 'creating' }), row('newer', { updatedAt: after })], [scan('creating', { actualSize: 9 })], taken);
    expect(storeSyncIsEmpty(plan)).toBe(true);
  });

  it('keeps the first of two files with one name', () => {
    const plan = planStoreSync([], [scan('x'), scan('x', { format: 'raw', path: '/store/x.raw' })], taken);
    expect(plan.create).toHaveLength(1);
    expect(plan.create[0]?.data.format).toBe('qcow2');
  });
});
