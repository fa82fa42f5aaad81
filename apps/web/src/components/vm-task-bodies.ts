import type { nicModel } from '@virtfleet/contracts';
import type { AttachInterfaceBody, ResizeDiskBody, VmActionBody } from '@virtfleet/sdk';

// The request bodies of the VM and disk dialogs (set-vcpus, set-memory, attach-interface,
// resize-disk), made from what the fields hold. Kept apart from the components so a unit test can
// check them against the jobs' own schemas; nothing here judges a value: the API does.

/**
 * The fields typed in, as numbers; of those, only the ones that differ from the VM's current
 * values (a maximum written back unchanged would only be set again, at the next boot). When none
 * differs, every typed field goes, and the job has nothing to do. Empty fields are left out (all
 * empty: the API says what it needs).
 */
export function changedCounts<K extends string>(current: Record<K, number>, draft: Record<K, string>): Partial<Record<K, number>> {
  const typed = (Object.keys(draft) as K[]).filter((k) => draft[k].trim() !== '').map((k) => [k, Number(draft[k])] as const);
  const changed = typed.filter(([k, v]) => v !== current[k]);
  return Object.fromEntries(changed.length ? changed : typed) as Partial<Record<K, number>>;
}

export function vcpusBody(vm: { vcpus: number; maxVcpus: number }, draft: { vcpus: string; maxVcpus: string }): VmActionBody<'set-vcpus'> {
  return changedCounts({ vcpus: vm.vcpus, maxVcpus: vm.maxVcpus }, draft);
}

export function memoryBody(vm: { memoryMiB: number; maxMemoryMiB: number }, draft: { memoryMiB: string; maxMemoryMiB: string }): VmActionBody<'set-memory'> {
  return changedCounts({ memoryMiB: vm.memoryMiB, maxMemoryMiB: vm.maxMemoryMiB }, draft);
}

export type NicModel = (typeof nicModel.options)[number];

export interface NicDraft {
  kind: 'network' | 'bridge';
  /** The network's or the bridge's name. */
  value: string;
  model: NicModel;
  /** Empty: the API picks one. */
  mac: string;
  /** Change the running domain; only asked (and sent) while the VM runs. */
  live: boolean;
  /** Change its saved definition. */
  config: boolean;
}

/** POST /v1/vms/:id/interfaces: `live` is left to the API (when the VM runs) unless the VM runs and it was asked. */
export function attachBody(draft: NicDraft, running: boolean): AttachInterfaceBody {
  const where = draft.kind === 'network' ? { network: draft.value.trim() } : { bridge: draft.value.trim() };
  return {
    ...where,
    model: draft.model,
    ...(draft.mac.trim() ? { mac: draft.mac.trim() } : {}),
    ...(running ? { live: draft.live } : {}),
    config: draft.config,
  };
}

export type SizeUnit = 'GiB' | 'MiB';

/** A disk's size as the resize field starts: whole GiB when it is, else MiB (rounded up). */
export function sizeDraft(bytes: number | null): { size: string; unit: SizeUnit } {
  if (bytes === null || bytes <= 0) return { size: '', unit: 'GiB' };
  const gib = bytes / 1024 ** 3;
  if (Number.isInteger(gib)) return { size: String(gib), unit: 'GiB' };
  return { size: String(Math.ceil(bytes / 1024 ** 2)), unit: 'MiB' };
}

/** POST /v1/disks/:id/resize: the size in the unit chosen. */
export function resizeBody(draft: { size: string; unit: SizeUnit; allowShrink: boolean }): ResizeDiskBody {
  const n = Number(draft.size);
  return { ...(draft.unit === 'GiB' ? { sizeGiB: n } : { sizeMiB: n }), allowShrink: draft.allowShrink };
}

/** Whether a VM runs (or is paused): a live change reaches it. */
export function isRunning(vm: { state: string }): boolean {
  return vm.state === 'running' || vm.state === 'paused' || vm.state === 'blocked' || vm.state === 'pmsuspended';
}

/** A VM's labels as the labels field shows them: one key=value a line. */
export function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

/**
 * PATCH /v1/vms/:id: the labels typed, one key=value a line (a value may hold commas and "=");
 * a line without "=" is a key with an empty value, blank lines are skipped. Keys and values are
 * the API's to judge.
 */
export function labelsBody(text: string): { labels: Record<string, string> } {
  const labels: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const at = line.indexOf('=');
    const key = (at < 0 ? line : line.slice(0, at)).trim();
    labels[key] = at < 0 ? '' : line.slice(at + 1).trim();
  }
  return { labels };
}

/** DELETE /v1/vms/:id: deleteSnapshots is only asked (and sent) when the VM has snapshots. */
export function undefineOptions(draft: { removeStorage: boolean; deleteSnapshots: boolean }, hasSnapshots: boolean): { removeStorage: boolean; deleteSnapshots?: boolean } {
  return { removeStorage: draft.removeStorage, ...(hasSnapshots ? { deleteSnapshots: draft.deleteSnapshots } : {}) };
}
