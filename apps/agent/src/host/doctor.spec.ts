import type { HostFacts } from '@virtfleet/contracts';
import { doctorChecks, formatDoctor, doctorReportOf, type DoctorInput } from './doctor';

const facts: HostFacts = {
  hostname: 'kvm-1',
  kernel: '6.1.0',
  arch: 'x86_64',
  cpu: { model: 'AMD EPYC', count: 2, vmx: false, svm: false },
  memory: { totalBytes: 8 * 1024 ** 3, availableBytes: 4 * 1024 ** 3 },
  kvm: { device: true, usable: false, probe: 'kvm probe failed after 0.07s: failed to set MSR 0x10a' },
  virtType: 'qemu',
  libvirt: { uri: 'qemu:///system', reachable: true },
  versions: { libvirt: '9.0.0', qemu: '7.2.22', qemuImg: '7.2.22', virtInstall: '4.1.0', agent: 't' },
  storage: { root: '/srv/vf/store', totalBytes: 100 * 1024 ** 3, freeBytes: 50 * 1024 ** 3 },
  collectedAt: '2026-11-25T00:00:00.000Z',
};
const dir = (path: string, mode: number, uid = 0, gid = 0) => ({ path, mode: 0o40000 | mode, uid, gid });
const base: DoctorInput = {
  facts,
  kvmModuleLoaded: true,
  libguestfsVersion: '1.48.6',
  storagePath: [dir('/', 0o755), dir('/srv', 0o755), dir('/srv/vf', 0o755), dir('/srv/vf/store', 0o755)],
  qemuUser: { name: 'libvirt-qemu', uid: 64055, gids: [64055, 108] },
  ipForward: true,
  apparmor: false,
};
const byId = (i: DoctorInput) => new Map(doctorChecks(i).map((c) => [c.id, c]));

describe('doctorChecks', () => {
  it('warns that KVM is not usable and guests run under TCG, with the probe’s words', () => {
    const c = byId(base);
    expect(c.get('cpu-virtualization')?.status).toBe('warn');
    expect(c.get('kvm')).toMatchObject({ status: 'warn', message: expect.stringContaining('TCG') });
    expect(c.get('kvm')?.message).toContain('MSR 0x10a');
    expect(c.get('libvirtd')?.status).toBe('pass');
  });

  it('fails a storage root libvirt-qemu cannot reach and names the folder to open', () => {
    const closed = { ...base, storagePath: [dir('/', 0o755), dir('/srv', 0o700), dir('/srv/vf', 0o755), dir('/srv/vf/store', 0o755)] };
    expect(byId(closed).get('storage-root')).toMatchObject({ status: 'fail', fix: 'chmod o+x /srv' });
  });

  it('accepts a folder libvirt-qemu reaches through its group or as owner', () => {
    const group = { ...base, storagePath: [dir('/', 0o755), dir('/srv', 0o710, 0, 108), dir('/srv/vf', 0o700, 64055), dir('/srv/vf/store', 0o755)] };
    expect(byId(group).get('storage-root')?.status).toBe('pass');
  });

  it('fails a missing root, an unreachable libvirtd and missing tools; warns about forwarding and low space', () => {
    const c = byId({
      ...base,
      storagePath: [dir('/', 0o755), undefined],
      facts: { ...facts, libvirt: { uri: 'qemu:///system', reachable: false, error: 'Failed to connect socket' }, versions: { agent: 't' } },
      ipForward: false,
      libguestfsVersion: undefined,
    });
    expect(c.get('storage-root')).toMatchObject({ status: 'fail', fix: 'mkdir -p /srv/vf/store' });
    expect(c.get('libvirtd')).toMatchObject({ status: 'fail', message: expect.stringContaining('Failed to connect socket') });
    expect(c.get('qemu-img')?.status).toBe('fail');
    expect(c.get('virt-install')?.status).toBe('fail');
    expect(c.get('libguestfs')?.status).toBe('warn');
    expect(c.get('ip-forward')?.status).toBe('warn');
    const full = byId({ ...base, facts: { ...facts, storage: { ...facts.storage, freeBytes: 1024 ** 3 } } });
    expect(full.get('storage-space')?.status).toBe('warn');
  });

  it('never asks to disable SELinux: it names the label that will block QEMU and how to relabel', () => {
    const c = byId({ ...base, selinux: { enforcing: true, rootLabel: 'unconfined_u:object_r:var_t:s0' } });
    expect(c.get('selinux')).toMatchObject({ status: 'warn', fix: expect.stringContaining('virt_image_t') });
    expect(c.get('selinux')?.fix).not.toMatch(/setenforce|disable/i);
    expect(byId({ ...base, selinux: { enforcing: true, rootLabel: 'system_u:object_r:virt_image_t:s0' } }).get('selinux')?.status).toBe('pass');
  });

  it('formats one line per check with the fix under it', () => {
    const text = formatDoctor(doctorReportOf(doctorChecks(base)));
    expect(text).toMatch(/^WARN {2}cpu-virtualization/m);
    expect(text).toMatch(/^\s+fix: /m);
  });
});
