import { refreshHostJob } from './refresh-host.job';

describe('refresh-host payload', () => {
  it('defaults reprobeKvm to true', () => {
    expect(refreshHostJob.payload.parse({})).toEqual({ reprobeKvm: true });
  });

  it('keeps reprobeKvm false', () => {
    expect(refreshHostJob.payload.parse({ reprobeKvm: false })).toEqual({ reprobeKvm: false });
  });

  it('refuses a non-boolean reprobeKvm', () => {
    expect(refreshHostJob.payload.safeParse({ reprobeKvm: 'yes' }).error?.issues.map((i) => i.path)).toEqual([
      ['reprobeKvm'],
    ]);
  });

  it('refuses unknown keys', () => {
    expect(refreshHostJob.payload.safeParse({ reprobeKvm: true, hostId: 'h1' }).error?.issues).toEqual([
      expect.objectContaining({ code: 'unrecognized_keys', keys: ['hostId'] }),
    ]);
  });
});

describe('refresh-host result', () => {
  const facts = {
    hostname: 'kvm-01',
    kernel: '6.1.0-18-amd64',
    arch: 'x86_64',
    cpu: { model: 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz', count: 2, vmx: true, svm: false },
    memory: { totalBytes: 16709353472, availableBytes: 11504189440 },
    kvm: { device: true, usable: true, probe: 'Kernel panic - not syncing: VFS: Unable to mount root fs' },
    virtType: 'kvm',
    libvirt: { uri: 'qemu:///system', reachable: true },
    versions: { libvirt: '9.0.0', qemu: '7.2.22', qemuImg: '7.2.22', agent: '0.1.0' },
    storage: { root: '/var/lib/virtfleet', totalBytes: 107374182400, freeBytes: 53687091200 },
    collectedAt: '2026-01-01T00:00:00.000Z',
  };

  it('is the host facts', () => {
    expect(refreshHostJob.result.safeParse(facts).error).toBeUndefined();
  });

  it('refuses a virt type other than kvm or qemu', () => {
    expect(refreshHostJob.result.safeParse({ ...facts, virtType: 'xen' }).error?.issues.map((i) => i.path)).toEqual([
      ['virtType'],
    ]);
  });
});
