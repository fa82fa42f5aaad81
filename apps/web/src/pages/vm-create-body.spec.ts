import { createVmPayload } from '@virtfleet/contracts';
import { emptyDraft, toBody, type Draft } from './vm-create-body';

// Every choice of the create-VM form gives a body create-vm's own schema (libs/contracts) takes.

const base: Draft = { ...emptyDraft, name: 'web-03', disks: [{ name: 'web-03-root', sizeGiB: '10', format: 'qcow2', bus: 'virtio' }] };

/** The body less where the VM goes (hostId): create-vm's payload. */
function payloadOf(d: Draft) {
  const payload: Record<string, unknown> = { ...toBody(d) };
  delete payload['hostId'];
  return createVmPayload.safeParse(payload);
}

describe('the create-VM form body', () => {
  it.each<[string, Partial<Draft>, Record<string, unknown>]>([
    ['cdrom', { kind: 'cdrom', iso: 'debian-12.iso' }, { kind: 'cdrom', iso: 'debian-12.iso' }],
    ['location by URL', { kind: 'location', url: 'http://mirror.example/debian/', extraArgs: 'console=ttyS0' }, { kind: 'location', url: 'http://mirror.example/debian/', extraArgs: 'console=ttyS0' }],
    ['location by ISO', { kind: 'location', iso: 'tree.iso' }, { kind: 'location', iso: 'tree.iso' }],
    ['import', { kind: 'import' }, { kind: 'import' }],
    ['direct kernel', { kind: 'kernel', kernel: 'vmlinux', initrd: 'initramfs.gz', cmdline: 'console=ttyS0 quiet' }, { kind: 'kernel', kernel: 'vmlinux', initrd: 'initramfs.gz', cmdline: 'console=ttyS0 quiet' }],
    ['pxe', { kind: 'pxe', nics: [{ kind: 'network', value: 'default', model: 'virtio', mac: '' }] }, { kind: 'pxe' }],
  ])('%s', (_, patch, install) => {
    const parsed = payloadOf({ ...base, ...patch });
    expect(parsed.error?.issues).toBeUndefined();
    expect(parsed.data?.install).toEqual(install);
  });

  it('carries disks (new and existing), NICs, VNC, labels, guest-ready and the host', () => {
    const d: Draft = {
      ...base,
      hostId: 'h1',
      iso: 'debian-12.iso',
      vcpus: '2',
      memoryMiB: '2048',
      disks: [
        { name: 'web-03-root', sizeGiB: '20', format: 'qcow2', bus: 'virtio' },
        { name: 'shared-data', sizeGiB: '', format: 'raw', bus: 'scsi' },
        { name: ' ', sizeGiB: '1', format: 'qcow2', bus: 'virtio' },
      ],
      nics: [
        { kind: 'network', value: 'default', model: 'virtio', mac: '52:54:00:AA:BB:CC' },
        { kind: 'bridge', value: 'br0', model: 'e1000', mac: '' },
      ],
      graphics: 'vnc',
      vncListen: '0.0.0.0',
      vncPassword: 'secret1',
      waitFor: 'guest-ready',
      readyMarker: 'login:',
      readyTimeoutSeconds: '120',
      labels: 'tier=web, team=pay=ments',
    };
    const body = toBody(d);
    expect(body.hostId).toBe('h1');
    const parsed = payloadOf(d);
    expect(parsed.error?.issues).toBeUndefined();
    expect(parsed.data).toMatchObject({
      vcpus: 2,
      memoryMiB: 2048,
      disks: [
        { name: 'web-03-root', sizeGiB: 20, format: 'qcow2', bus: 'virtio' },
        { name: 'shared-data', format: 'raw', bus: 'scsi' },
      ],
      networks: [
        { network: 'default', model: 'virtio', mac: '52:54:00:aa:bb:cc' },
        { bridge: 'br0', model: 'e1000' },
      ],
      graphics: { type: 'vnc', listen: '0.0.0.0', password: 'secret1' },
      waitFor: 'guest-ready',
      readyTimeoutSeconds: 120,
      labels: { tier: 'web', team: 'pay=ments' },
    });
    expect(parsed.data?.disks[1]).not.toHaveProperty('sizeGiB');
  });

  it('leaves the checking to the API: a bad name still makes a body, which the schema refuses', () => {
    expect(payloadOf({ ...base, name: '-bad name', kind: 'import' }).success).toBe(false);
  });
});
