import type { InstallSource, diskBus, nicModel } from '@virtfleet/contracts';
import type { CreateVmBody } from '@virtfleet/sdk';

// The create-VM form's state and the POST /v1/vms body made from it (create-vm's payload, from
// libs/contracts, plus where it may go). Kept apart from the page so a unit test can check every
// install kind against the contract's own schema.

export type Kind = InstallSource['kind'];
export type Bus = (typeof diskBus.options)[number];
export type Model = (typeof nicModel.options)[number];

export interface DiskRow {
  name: string;
  /** Empty: an existing disk of the store root. */
  sizeGiB: string;
  format: 'qcow2' | 'raw';
  bus: Bus;
}
export interface NicRow {
  kind: 'network' | 'bridge';
  value: string;
  model: Model;
  mac: string;
}

export interface Draft {
  name: string;
  hostId: string;
  vcpus: string;
  memoryMiB: string;
  osVariant: string;
  kind: Kind;
  iso: string;
  url: string;
  extraArgs: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  disks: DiskRow[];
  nics: NicRow[];
  graphics: 'none' | 'vnc';
  vncListen: string;
  vncPassword: string;
  serial: boolean;
  autostart: boolean;
  waitFor: 'running' | 'guest-ready';
  readyMarker: string;
  readyTimeoutSeconds: string;
  labels: string;
}

export const emptyDraft: Draft = {
  name: '',
  hostId: '',
  vcpus: '1',
  memoryMiB: '1024',
  osVariant: 'generic',
  kind: 'cdrom',
  iso: '',
  url: '',
  extraArgs: '',
  kernel: '',
  initrd: '',
  cmdline: 'console=ttyS0',
  disks: [{ name: '', sizeGiB: '10', format: 'qcow2', bus: 'virtio' }],
  nics: [],
  graphics: 'none',
  vncListen: '127.0.0.1',
  vncPassword: '',
  serial: true,
  autostart: false,
  waitFor: 'running',
  readyMarker: 'login:',
  readyTimeoutSeconds: '300',
  labels: '',
};

const num = (s: string) => (s.trim() === '' ? undefined : Number(s));
const opt = (s: string) => (s.trim() === '' ? undefined : s.trim());

/** The request body from the form; the API validates it (and says which field is wrong). */
export function toBody(d: Draft): CreateVmBody {
  const install: InstallSource =
    d.kind === 'cdrom'
      ? { kind: 'cdrom', iso: d.iso }
      : d.kind === 'location'
        ? { kind: 'location', ...(opt(d.url) ? { url: d.url.trim() } : { iso: d.iso }), ...(opt(d.extraArgs) ? { extraArgs: d.extraArgs.trim() } : {}) }
        : d.kind === 'kernel'
          ? { kind: 'kernel', kernel: d.kernel, ...(opt(d.initrd) ? { initrd: d.initrd } : {}), ...(opt(d.cmdline) ? { cmdline: d.cmdline.trim() } : {}) }
          : { kind: d.kind };
  const labels: Record<string, string> = {};
  for (const pair of d.labels.split(/[,\n]/)) {
    const [k, ...v] = pair.split('=');
    if (k?.trim()) labels[k.trim()] = v.join('=').trim();
  }
  return {
    name: d.name.trim(),
    ...(d.hostId ? { hostId: d.hostId } : {}),
    vcpus: Number(d.vcpus),
    memoryMiB: Number(d.memoryMiB),
    osVariant: d.osVariant.trim() || 'generic',
    install,
    disks: d.disks.filter((x) => x.name.trim()).map((x) => ({ name: x.name.trim(), ...(num(x.sizeGiB) !== undefined ? { sizeGiB: num(x.sizeGiB) } : {}), format: x.format, bus: x.bus })),
    networks: d.nics
      .filter((n) => n.value.trim())
      .map((n) => ({ ...(n.kind === 'network' ? { network: n.value.trim() } : { bridge: n.value.trim() }), model: n.model, ...(opt(n.mac) ? { mac: n.mac.trim() } : {}) })),
    graphics: d.graphics === 'vnc' ? { type: 'vnc', listen: d.vncListen.trim() || '127.0.0.1', ...(opt(d.vncPassword) ? { password: d.vncPassword } : {}) } : { type: 'none' },
    serial: d.serial,
    autostart: d.autostart,
    waitFor: d.waitFor,
    ...(d.waitFor === 'guest-ready' ? { readyMarker: d.readyMarker, readyTimeoutSeconds: Number(d.readyTimeoutSeconds) } : {}),
    labels,
  };
}

