import { argvOf } from '@virtfleet/exec';
import { KVM_PROBE_MARKER, kvmFirmwareProbeCommand, kvmProbeCommand, parseCpuInfo, parseMemInfo } from './host';

function cpuinfo(flags: string): string {
  const cpu = (n: number) => `processor\t: ${n}
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz
stepping\t: 7
cpu MHz\t\t: 2095.078
cache size\t: 28160 KB
physical id\t: 0
siblings\t: 2
core id\t\t: ${n}
cpu cores\t: 2
fpu\t\t: yes
flags\t\t: ${flags}
vmx flags\t: vnmi preemption_timer invvpid ept_x_only ept_ad
bugs\t\t: spectre_v1 spectre_v2 spec_store_bypass swapgs taa itlb_multihit
bogomips\t: 4190.15
clflush size\t: 64
address sizes\t: 46 bits physical, 48 bits virtual
power management:
`;
  return `${cpu(0)}\n${cpu(1)}\n`;
}

const BASE_FLAGS = 'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology cpuid tsc_known_freq pni pclmulqdq';

describe('parseCpuInfo', () => {
  it('counts the CPUs and sees vmx', () => {
    expect(parseCpuInfo(cpuinfo(`${BASE_FLAGS} vmx ssse3 fma cx16 avx2`))).toEqual({
      model: 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz',
      count: 2,
      vmx: true,
      svm: false,
    });
  });

  it('sees svm', () => {
    expect(parseCpuInfo(cpuinfo(`${BASE_FLAGS} svm`))).toMatchObject({ count: 2, vmx: false, svm: true });
  });

  it('reports no virtualization flag when there is none (the "vmx flags" line does not count)', () => {
    expect(parseCpuInfo(cpuinfo(BASE_FLAGS))).toEqual({
      model: 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz',
      count: 2,
      vmx: false,
      svm: false,
    });
  });

  it('matches whole flags only', () => {
    expect(parseCpuInfo('processor\t: 0\nflags\t\t: vmxe svm_lock\n')).toMatchObject({ vmx: false, svm: false });
  });

  it('keeps the defaults for empty input', () => {
    expect(parseCpuInfo('')).toEqual({ model: 'unknown', count: 0, vmx: false, svm: false });
  });
});

describe('parseMemInfo', () => {
  it('reads MemTotal and MemAvailable in bytes', () => {
    const meminfo = `MemTotal:       16318412 kB
MemFree:          913244 kB
MemAvailable:   11234560 kB
Buffers:          262144 kB
Cached:          9876543 kB
SwapCached:            0 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`;
    expect(parseMemInfo(meminfo)).toEqual({ totalBytes: 16318412 * 1024, availableBytes: 11234560 * 1024 });
  });

  it('gives 0 for a missing field', () => {
    expect(parseMemInfo('MemTotal:        1024 kB\n')).toEqual({ totalBytes: 1024 * 1024, availableBytes: 0 });
  });
});

describe('KVM probe', () => {
  it.each([
    'Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)',
    '[    0.912345] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)',
    'VFS: Cannot open root device "(null)" or unknown-block(0,0): error -6',
  ])('the marker matches %j', (line) => {
    expect(KVM_PROBE_MARKER.test(line)).toBe(true);
  });

  it.each(['Probing EDD (edd=off to disable)... ok', 'Decompressing Linux... Parsing ELF... done.', 'Booting the kernel.'])(
    'the marker does not match %j',
    (line) => {
      expect(KVM_PROBE_MARKER.test(line)).toBe(false);
    },
  );

  it('boots the given kernel under KVM with the host CPU model', () => {
    expect(argvOf(kvmProbeCommand('/boot/vmlinuz-6.1.0-18-amd64'))).toEqual([
      'qemu-system-x86_64',
      '-accel', 'kvm', '-cpu', 'host', '-machine', 'q35', '-m', '256', '-smp', '1',
      '-display', 'none', '-nodefaults', '-no-reboot', '-no-user-config',
      '-kernel', '/boot/vmlinuz-6.1.0-18-amd64', '-append', 'console=ttyS0 panic=-1 loglevel=4',
      '-serial', 'stdio',
    ]);
  });

  it('the firmware probe brings up a host vCPU under KVM without a kernel', () => {
    expect(argvOf(kvmFirmwareProbeCommand())).toEqual([
      'qemu-system-x86_64',
      '-accel', 'kvm', '-cpu', 'host', '-machine', 'q35', '-m', '64',
      '-display', 'none', '-nodefaults', '-no-user-config', '-serial', 'stdio',
    ]);
  });
});
