import type { GuestFilesystemEntry, JobPayloadInput, JobResult } from '@virtfleet/contracts';

// The guest-file jobs' payloads (read-guest-file, write-guest-file, guest-disk-usage,
// list-guest-filesystems) made from what the VM page's fields hold, and how their results are
// shown. Nothing here judges a path or a device: the API does, in its words.

/** How the guest-file jobs name a VM: by UUID, with its name (the per-VM lock). */
export function guestVm(vm: { uuid: string; name: string }): { vm: { uuid: string; name: string } } {
  return { vm: { uuid: vm.uuid, name: vm.name } };
}

/** The file fields: the filesystem to mount at "/" (empty: libguestfs looks for an OS) and the path. */
export interface GuestFileDraft {
  mount: string;
  path: string;
}

function mountOf(draft: GuestFileDraft): { mount?: string } {
  return draft.mount.trim() ? { mount: draft.mount.trim() } : {};
}

export function readFileBody(vm: { uuid: string; name: string }, draft: GuestFileDraft): JobPayloadInput<'read-guest-file'> {
  return { ...guestVm(vm), ...mountOf(draft), path: draft.path.trim() };
}

/** The whole new content, written where it was read from (utf8: the editor only holds text). */
export function writeFileBody(vm: { uuid: string; name: string }, from: GuestFileDraft, content: string): JobPayloadInput<'write-guest-file'> {
  return { ...guestVm(vm), ...mountOf(from), path: from.path.trim(), content, encoding: 'utf8' };
}

/** What a read gave, as the page shows it. */
export interface ReadView {
  /** The text, or the base64 of a binary file (shown as such). */
  text: string;
  binary: boolean;
  /** Only a whole text file can be edited in the page and written back. */
  editable: boolean;
  /** "12 bytes", "first 1048576 of 5000000 bytes". */
  extent: string;
}

export function readView(r: JobResult<'read-guest-file'>): ReadView {
  const binary = r.encoding === 'base64';
  const returned = binary ? Math.floor((r.content.length * 3) / 4) - (r.content.match(/=+$/)?.[0].length ?? 0) : new TextEncoder().encode(r.content).length;
  return {
    text: r.content,
    binary,
    editable: !binary && !r.truncated,
    extent: r.truncated ? `first ${returned} of ${r.size} bytes` : `${r.size} bytes`,
  };
}

/** The devices list-guest-filesystems found a filesystem on (swap left out): what "Filesystem" may name. */
export function mountChoices(entries: readonly GuestFilesystemEntry[]): string[] {
  return [...new Set(entries.filter((e) => e.type === 'filesystem' && e.vfs !== 'swap' && e.vfs !== 'unknown').map((e) => e.name))];
}

/** Files are written only while the VM is shut off (the agent refuses otherwise: vm_not_shut_off). */
export function canWriteFiles(vm: { state: string }): boolean {
  return vm.state === 'shutoff';
}
