import { attachInterfaceJob, labelMap, resizeDiskJob, setMemoryJob, setVcpusJob, undefineVmJob } from '@virtfleet/contracts';
import {
  attachBody,
  changedCounts,
  isRunning,
  labelsBody,
  labelsText,
  memoryBody,
  resizeBody,
  sizeDraft,
  undefineOptions,
  vcpusBody,
  type NicDraft,
} from './vm-task-bodies';

// The dialogs' bodies are what the jobs' own schemas (libs/contracts) take, with the route's part added.

const vm = { uuid: '2f1c4a8e-0d5b-4c1e-9a7f-3b6d8e2c1a90', name: 'web-03' };

describe('changedCounts', () => {
  const current = { vcpus: 1, maxVcpus: 2 };
  it.each<[string, { vcpus: string; maxVcpus: string }, Record<string, number>]>([
    ['only what changed', { vcpus: '2', maxVcpus: '2' }, { vcpus: 2 }],
    ['both when both changed', { vcpus: '4', maxVcpus: '8' }, { vcpus: 4, maxVcpus: 8 }],
    ['every typed field when nothing changed', { vcpus: '1', maxVcpus: '2' }, { vcpus: 1, maxVcpus: 2 }],
    ['no empty field', { vcpus: ' ', maxVcpus: '4' }, { maxVcpus: 4 }],
    ['nothing when all are empty (the API says what it needs)', { vcpus: '', maxVcpus: '' }, {}],
  ])('%s', (_, draft, body) => {
    expect(changedCounts(current, draft)).toEqual(body);
  });
});

describe('the set-vcpus and set-memory bodies', () => {
  it('are payloads the jobs take, once the route adds the VM', () => {
    const vcpus = vcpusBody({ vcpus: 1, maxVcpus: 1 }, { vcpus: '2', maxVcpus: '2' });
    expect(vcpus).toEqual({ vcpus: 2, maxVcpus: 2 });
    expect(setVcpusJob.payload.safeParse({ vm, ...vcpus }).error?.issues).toBeUndefined();
    const memory = memoryBody({ memoryMiB: 128, maxMemoryMiB: 128 }, { memoryMiB: '192', maxMemoryMiB: '256' });
    expect(memory).toEqual({ memoryMiB: 192, maxMemoryMiB: 256 });
    expect(setMemoryJob.payload.safeParse({ vm, ...memory }).error?.issues).toBeUndefined();
  });

  it('leave a wrong value for the API to refuse, in its words', () => {
    const body = vcpusBody({ vcpus: 1, maxVcpus: 1 }, { vcpus: '3', maxVcpus: '2' });
    expect(body).toEqual({ vcpus: 3, maxVcpus: 2 });
    expect(setVcpusJob.payload.safeParse({ vm, ...body }).error?.issues.map((i) => i.message)).toEqual(['vcpus may not exceed maxVcpus']);
  });
});

describe('attachBody', () => {
  const draft: NicDraft = { kind: 'network', value: ' nat0 ', model: 'virtio', mac: '', live: true, config: true };
  it.each<[string, NicDraft, boolean, Record<string, unknown>]>([
    ['a network on a shut-off VM: live left to the API', draft, false, { network: 'nat0', model: 'virtio', config: true }],
    ['a network on a running VM, live as asked', { ...draft, live: false }, true, { network: 'nat0', model: 'virtio', live: false, config: true }],
    ['a bridge with a MAC and a model', { ...draft, kind: 'bridge', value: 'br1', model: 'e1000', mac: ' 52:54:00:12:34:56 ' }, false, { bridge: 'br1', model: 'e1000', mac: '52:54:00:12:34:56', config: true }],
  ])('%s', (_, d, running, body) => {
    const b = attachBody(d, running);
    expect(b).toEqual(body);
    const { live, config, ...nic } = b;
    const parsed = attachInterfaceJob.payload.safeParse({ vm, nic, ...(live === undefined ? {} : { live }), config });
    expect(parsed.error?.issues).toBeUndefined();
  });
});

describe('resize', () => {
  it.each<[number | null, { size: string; unit: string }]>([
    [10 * 1024 ** 3, { size: '10', unit: 'GiB' }],
    [1536 * 1024 ** 2, { size: '1536', unit: 'MiB' }],
    [1024 ** 3 + 1, { size: '1025', unit: 'MiB' }],
    [null, { size: '', unit: 'GiB' }],
  ])('starts from %p bytes as %p', (bytes, draft) => {
    expect(sizeDraft(bytes)).toEqual(draft);
  });

  it('sends the size in the unit chosen, a payload resize-disk takes', () => {
    const gib = resizeBody({ size: '2', unit: 'GiB', allowShrink: false });
    expect(gib).toEqual({ sizeGiB: 2, allowShrink: false });
    expect(resizeDiskJob.payload.safeParse({ name: 'data', ...gib }).error?.issues).toBeUndefined();
    const mib = resizeBody({ size: '1536', unit: 'MiB', allowShrink: true });
    expect(mib).toEqual({ sizeMiB: 1536, allowShrink: true });
    expect(resizeDiskJob.payload.safeParse({ name: 'data', ...mib }).error?.issues).toBeUndefined();
  });
});

describe('isRunning', () => {
  it.each([
    ['running', true],
    ['paused', true],
    ['shutoff', false],
    ['crashed', false],
    ['nostate', false],
  ])('%s: %p', (state, running) => {
    expect(isRunning({ state })).toBe(running);
  });
});

describe('labels', () => {
  it('are shown one key=value a line and read back the same', () => {
    const labels = { tier: 'web', 'team.io/owner': 'a=b, c' };
    expect(labelsText(labels)).toBe('tier=web\nteam.io/owner=a=b, c');
    expect(labelsBody(labelsText(labels))).toEqual({ labels });
  });

  it.each<[string, string, Record<string, string>]>([
    ['blank lines and spaces around are dropped', '\n tier = web \n\n', { tier: 'web' }],
    ['a key without "=" has an empty value', 'canary', { canary: '' }],
    ['the last of a key repeated wins', 'a=1\na=2', { a: '2' }],
    ['an empty field removes them all', '   ', {}],
  ])('%s', (_, text, labels) => {
    expect(labelsBody(text)).toEqual({ labels });
    expect(labelMap.safeParse(labels).error?.issues).toBeUndefined();
  });

  it('leave a bad key for the API to refuse, in its words', () => {
    const { labels } = labelsBody('-bad=1');
    expect(labels).toEqual({ '-bad': '1' });
    expect(labelMap.safeParse(labels).success).toBe(false);
  });
});

describe('undefineOptions', () => {
  it.each<[string, { removeStorage: boolean; deleteSnapshots: boolean }, boolean, Record<string, boolean>]>([
    ['the VM only', { removeStorage: false, deleteSnapshots: false }, false, { removeStorage: false }],
    ['with its disks', { removeStorage: true, deleteSnapshots: true }, false, { removeStorage: true }],
    ['with snapshots asked', { removeStorage: false, deleteSnapshots: true }, true, { removeStorage: false, deleteSnapshots: true }],
    ['with snapshots not asked (the API refuses: vm_has_snapshots)', { removeStorage: true, deleteSnapshots: false }, true, { removeStorage: true, deleteSnapshots: false }],
  ])('%s', (_, draft, hasSnapshots, options) => {
    expect(undefineOptions(draft, hasSnapshots)).toEqual(options);
    expect(undefineVmJob.payload.safeParse({ vm, ...options }).error?.issues).toBeUndefined();
  });
});
