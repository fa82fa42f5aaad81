import { argvOf } from '@virtfleet/exec';
import { parseVirshVersion, virsh, virtInstallVersion } from './virsh';

describe('virsh', () => {
  it('runs quiet against the given URI, arguments after', () => {
    expect(argvOf(virsh('qemu:///system', 'dominfo', 'vm1'))).toEqual([
      'virsh',
      '-q',
      '-c',
      'qemu:///system',
      'dominfo',
      'vm1',
    ]);
  });

  it('works with no sub-command arguments', () => {
    expect(argvOf(virsh('qemu+unix:///system?socket=/run/vf/libvirt-sock'))).toEqual([
      'virsh',
      '-q',
      '-c',
      'qemu+unix:///system?socket=/run/vf/libvirt-sock',
    ]);
  });

  it('virtInstallVersion', () => {
    expect(argvOf(virtInstallVersion())).toEqual(['virt-install', '--version']);
  });
});

describe('parseVirshVersion', () => {
  it('reads the library and the running hypervisor', () => {
    const out =
      'Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.22\n';
    expect(parseVirshVersion(out)).toEqual({ libvirt: '9.0.0', hypervisor: 'QEMU', hypervisorVersion: '7.2.22' });
  });

  it('takes the library in use, not the one compiled against', () => {
    const out = 'Compiled against library: libvirt 8.0.0\nUsing library: libvirt 9.0.0\n';
    expect(parseVirshVersion(out)).toEqual({ libvirt: '9.0.0' });
  });

  it('returns no fields for output it does not know', () => {
    const info = parseVirshVersion('error: failed to connect to the hypervisor\n');
    expect(info).toEqual({});
    expect(Object.keys(info)).toHaveLength(0);
  });
});
