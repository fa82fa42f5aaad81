import { argvOf, assertSucceeded, NodeCommandRunner, type Command } from '@virtfleet/exec';
import { UnsafeValueError } from './virt-install';
import {
  classifyVirshError,
  parseDomBlkList,
  parseDomIfList,
  parseDominfo,
  parseDomState,
  parsePowerState,
  parseVcpuCount,
  VirshParseError,
  virshAutostart,
  virshDefine,
  virshDestroy,
  virshDomBlkList,
  virshDomIfAddr,
  virshDomIfList,
  virshDomInfo,
  virshDomState,
  virshDumpXml,
  virshReboot,
  virshSetMaxMem,
  virshSetMem,
  virshSetVcpus,
  virshShutdown,
  virshStart,
  virshUndefine,
  virshVcpuCount,
  type VirshErrorKind,
} from './virsh-domain';

const URI = 'qemu:///system';
const U = '92d1a097-3e99-4188-9c8f-18d9a4da8bb4';
const V = ['virsh', '-q', '-c', URI];

describe('domain action builders', () => {
  it.each([
    ['start', virshStart(URI, U), ['start', '--domain', U]],
    ['shutdown', virshShutdown(URI, U), ['shutdown', '--domain', U, '--mode', 'acpi']],
    ['destroy', virshDestroy(URI, U), ['destroy', '--domain', U]],
    ['destroy --graceful', virshDestroy(URI, U, { graceful: true }), ['destroy', '--domain', U, '--graceful']],
    ['reboot', virshReboot(URI, U), ['reboot', '--domain', U, '--mode', 'acpi']],
    ['autostart', virshAutostart(URI, U, true), ['autostart', '--domain', U]],
    ['autostart --disable', virshAutostart(URI, U, false), ['autostart', '--domain', U, '--disable']],
    ['setvcpus maximum', virshSetVcpus(URI, U, 4, 'maximum'), ['setvcpus', '--domain', U, '--count', '4', '--maximum', '--config']],
    ['setvcpus config', virshSetVcpus(URI, U, 2, 'config'), ['setvcpus', '--domain', U, '--count', '2', '--config']],
    ['setvcpus live', virshSetVcpus(URI, U, 3, 'live'), ['setvcpus', '--domain', U, '--count', '3', '--live']],
    ['setmaxmem', virshSetMaxMem(URI, U, 512), ['setmaxmem', '--domain', U, '--size', '512MiB', '--config']],
    ['setmem config', virshSetMem(URI, U, 384, 'config'), ['setmem', '--domain', U, '--size', '384MiB', '--config']],
    ['setmem live', virshSetMem(URI, U, 384, 'live'), ['setmem', '--domain', U, '--size', '384MiB', '--live']],
    ['vcpucount', virshVcpuCount(URI, U), ['vcpucount', '--domain', U]],
    ['domstate', virshDomState(URI, U), ['domstate', '--domain', U, '--reason']],
    ['dominfo', virshDomInfo(URI, U), ['dominfo', '--domain', U]],
    ['define', virshDefine(URI, '/var/lib/virtfleet/tmp/vm1.xml'), ['define', '--file', '/var/lib/virtfleet/tmp/vm1.xml', '--validate']],
    ['define unvalidated', virshDefine(URI, '/x/vm1.xml', { validate: false }), ['define', '--file', '/x/vm1.xml']],
    ['undefine', virshUndefine(URI, U), ['undefine', '--domain', U, '--nvram', '--managed-save']],
    [
      'undefine with snapshots',
      virshUndefine(URI, U, { snapshotsMetadata: true, checkpointsMetadata: true }),
      ['undefine', '--domain', U, '--nvram', '--managed-save', '--snapshots-metadata', '--checkpoints-metadata'],
    ],
    ['dumpxml', virshDumpXml(URI, U), ['dumpxml', '--domain', U]],
    ['dumpxml --inactive', virshDumpXml(URI, U, { inactive: true }), ['dumpxml', '--domain', U, '--inactive']],
    ['domblklist', virshDomBlkList(URI, U), ['domblklist', '--domain', U, '--details']],
    ['domiflist', virshDomIfList(URI, U), ['domiflist', '--domain', U]],
    ['domifaddr', virshDomIfAddr(URI, U), ['domifaddr', '--domain', U, '--source', 'lease']],
  ])('%s', (_name, cmd, args) => {
    expect(argvOf(cmd)).toEqual([...V, ...args]);
    expect(cmd.timeoutMs).toBeGreaterThan(0);
  });

  it('never removes storage on undefine (we delete disks ourselves, inside our roots)', () => {
    expect(argvOf(virshUndefine(URI, U, { snapshotsMetadata: true }))).not.toContain('--remove-all-storage');
  });

  it.each(['vm1', '--domain', `${U} --remove-all-storage`, `${U},x`, '$(id)', ''])('refuses a domain that is no UUID: %j', (bad) => {
    expect(() => virshStart(URI, bad)).toThrow(UnsafeValueError);
    expect(() => virshUndefine(URI, bad)).toThrow(expect.objectContaining({ field: 'uuid' }));
  });

  it.each(['vm1.xml', '/x/../etc/shadow', '--file', '/x/a b.xml'])('refuses a define path %j', (bad) => {
    expect(() => virshDefine(URI, bad)).toThrow(expect.objectContaining({ field: 'xmlPath' }));
  });

  it('refuses counts and sizes that are no positive integers', () => {
    expect(() => virshSetVcpus(URI, U, 0, 'config')).toThrow(UnsafeValueError);
    expect(() => virshSetVcpus(URI, U, '2 --live' as unknown as number, 'config')).toThrow(UnsafeValueError);
    expect(() => virshSetMem(URI, U, 1.5, 'live')).toThrow(UnsafeValueError);
    expect(() => virshSetMaxMem(URI, U, -1)).toThrow(UnsafeValueError);
    expect(() => virshSetMem(URI, U, 64, '--current' as 'live')).toThrow(expect.objectContaining({ field: 'target' }));
  });
});

// Verbatim `virsh -q` output from a no-OS domain on qemu:///system (libvirt 9.0, QEMU 7.2, TCG).
const DOMINFO_RUNNING = `Id:             4
Name:           vfh-c-x
UUID:           92d1a097-3e99-4188-9c8f-18d9a4da8bb4
OS Type:        hvm
State:          running
CPU(s):         1
CPU time:       0.5s
Max memory:     65536 KiB
Used memory:    65536 KiB
Persistent:     yes
Autostart:      disable
Managed save:   no
Security model: none
Security DOI:   0

`;
const DOMINFO_SAVED = `Id:             -
Name:           vfh-c-x
UUID:           92d1a097-3e99-4188-9c8f-18d9a4da8bb4
OS Type:        hvm
State:          shut off
CPU(s):         3
Max memory:     262144 KiB
Used memory:    98304 KiB
Persistent:     yes
Autostart:      enable
Managed save:   yes
Security model: none
Security DOI:   0
`;
// After setvcpus 4 --maximum --config and 3 --config on a domain booted with 1.
const VCPUCOUNT_RUNNING = 'maximum      config         4\nmaximum      live           1\ncurrent      config         3\ncurrent      live           1\n\n';
const VCPUCOUNT_SHUTOFF = 'maximum      config         4\ncurrent      config         3\n\n';

describe('parsers', () => {
  it.each([
    ['running (booted)\n\n', { state: 'running', reason: 'booted' }],
    ['running (unpaused)', { state: 'running', reason: 'unpaused' }],
    ['paused (user)', { state: 'paused', reason: 'user' }],
    ['shut off (destroyed)', { state: 'shutoff', reason: 'destroyed' }],
    ['shut off (saved)', { state: 'shutoff', reason: 'saved' }],
    ['shut off (failed)', { state: 'shutoff', reason: 'failed' }],
    ['running (from snapshot)', { state: 'running', reason: 'from snapshot' }],
    ['in shutdown (user)', { state: 'shutdown', reason: 'user' }],
    ['running (unknown)', { state: 'running', reason: 'unknown' }],
    ['idle', { state: 'blocked' }],
    ['no state', { state: 'nostate' }],
  ])('parseDomState(%j)', (text, expected) => {
    expect(parseDomState(text)).toEqual(expected);
  });

  it('parseDomState refuses what it does not know', () => {
    expect(() => parseDomState('hovering (levitating)')).toThrow(VirshParseError);
    expect(() => parseDomState('')).toThrow(VirshParseError);
    expect(parsePowerState('pmsuspended')).toBe('pmsuspended');
    expect(parsePowerState('crashed')).toBe('crashed');
  });

  it('parseVcpuCount: a running domain, live maximum unchanged until the next boot', () => {
    expect(parseVcpuCount(VCPUCOUNT_RUNNING)).toEqual({ maximumConfig: 4, maximumLive: 1, currentConfig: 3, currentLive: 1 });
  });

  it('parseVcpuCount: a shut-off domain has only config rows', () => {
    expect(parseVcpuCount(VCPUCOUNT_SHUTOFF)).toEqual({ maximumConfig: 4, currentConfig: 3 });
    expect(() => parseVcpuCount('')).toThrow(VirshParseError);
    expect(() => parseVcpuCount('error: something')).toThrow(VirshParseError);
  });

  it('parseDominfo: running', () => {
    expect(parseDominfo(DOMINFO_RUNNING)).toEqual({
      id: 4,
      name: 'vfh-c-x',
      uuid: U,
      osType: 'hvm',
      state: 'running',
      cpus: 1,
      cpuTimeSeconds: 0.5,
      maxMemoryKiB: 65536,
      usedMemoryKiB: 65536,
      persistent: true,
      autostart: false,
      managedSave: false,
      securityModel: 'none',
    });
  });

  it('parseDominfo: shut off with a managed save, no id and no CPU time', () => {
    const info = parseDominfo(DOMINFO_SAVED);
    expect(info).toMatchObject({ state: 'shutoff', cpus: 3, maxMemoryKiB: 262144, usedMemoryKiB: 98304, autostart: true, managedSave: true });
    expect(info.id).toBeUndefined();
    expect(info.cpuTimeSeconds).toBeUndefined();
    expect(() => parseDominfo('Id: 1\n')).toThrow(VirshParseError);
  });

  it('parseDomBlkList (--details)', () => {
    expect(parseDomBlkList(' file   disk   vda   /var/lib/vfh-c/store/d0.qcow2\n file   cdrom  hda   -\n\n')).toEqual([
      { type: 'file', device: 'disk', target: 'vda', source: '/var/lib/vfh-c/store/d0.qcow2' },
      { type: 'file', device: 'cdrom', target: 'hda' },
    ]);
    expect(parseDomBlkList('')).toEqual([]);
  });

  it('parseDomIfList', () => {
    expect(parseDomIfList(' vnet0   network   kvmlab-nat   virtio   52:54:00:bc:11:f6\n testnet0   network   default   -   aa:bb:cc:dd:ee:ff\n')).toEqual([
      { interface: 'vnet0', type: 'network', source: 'kvmlab-nat', model: 'virtio', mac: '52:54:00:bc:11:f6' },
      { interface: 'testnet0', type: 'network', source: 'default', mac: 'aa:bb:cc:dd:ee:ff' },
    ]);
    expect(parseDomIfList('')).toEqual([]);
    expect(() => parseDomIfList(' vnet0 network\n')).toThrow(VirshParseError);
  });
});

// Verbatim stderr of `virsh -q` on qemu:///system, each from the situation named.
const ERRORS: ReadonlyArray<readonly [string, string, VirshErrorKind]> = [
  ['unknown uuid', `error: failed to get domain '00000000-0000-4000-8000-0000000000ff'`, 'not_found'],
  ['vanished mid-call', `error: Domain not found: no domain with matching uuid '00000000-0000-4000-8000-0000000000ff'`, 'not_found'],
  ['start a running or paused one', 'error: Domain is already active', 'already_running'],
  ['resume a running one', `error: Failed to resume domain '${U}'\nerror: Requested operation is not valid: domain is already running`, 'not_paused'],
  ['destroy a shut-off one', `error: Failed to destroy domain '${U}'\nerror: Requested operation is not valid: domain is not running`, 'not_running'],
  ['shutdown a paused one', `error: Failed to shutdown domain '${U}'\nerror: Requested operation is not valid: domain is not running`, 'not_running'],
  ['setvcpus --live on a shut-off one', 'error: Requested operation is not valid: domain is not running', 'not_running'],
  ['undefine with snapshots', `error: Failed to undefine domain '${U}'\nerror: Requested operation is not valid: cannot delete inactive domain with 1 snapshots`, 'has_snapshots'],
  ['undefine with a managed save', 'error: Refusing to undefine while domain managed save image exists', 'has_managed_save'],
  ['undefine a domain with <nvram> without --nvram', `error: Failed to undefine domain '${U}'\nerror: Requested operation is not valid: cannot undefine domain with nvram`, 'has_nvram'],
  ['autostart a transient one', `error: Failed to mark domain '${U}' as autostarted\nerror: Requested operation is not valid: cannot set autostart for transient domain`, 'transient_domain'],
  ['--config on a transient one', 'error: Requested operation is not valid: transient domains do not have any persistent config', 'transient_domain'],
  ['setmaxmem live', 'error: Unable to change MaxMemorySize\nerror: Requested operation is not valid: cannot resize the maximum memory on an active domain', 'needs_next_boot'],
  ['setvcpus --live above the live maximum', 'error: invalid argument: requested vcpus is greater than max allowable vcpus for the live domain: 2 > 1', 'needs_next_boot'],
  ['setvcpus --live below the boot count', 'error: unsupported configuration: failed to find appropriate hotpluggable vcpus to reach the desired target vcpu count', 'needs_next_boot'],
  ['setvcpus --config above the maximum', 'error: invalid argument: requested vcpus is greater than max allowable vcpus for the persistent domain: 2 > 1', 'exceeds_maximum'],
  ['setmem above the maximum', 'error: invalid argument: cannot set memory higher than max memory', 'exceeds_maximum'],
  [
    'define against the schema',
    'error: Failed to define domain from /tmp/d.xml\nerror: XML document failed to validate against schema: Unable to validate doc against /usr/share/libvirt/schemas/domain.rng\nExtra element devices in interleave\nElement domain failed to validate content',
    'invalid_xml',
  ],
  ['define broken XML', 'error: Failed to define domain from /tmp/d.xml\nerror: (domain_definition):2: Premature end of data in tag name line 1\n(null)\n^', 'invalid_xml'],
  ['define a taken name', `error: Failed to define domain from /tmp/d.xml\nerror: operation failed: domain 'test' already exists with uuid ${U}`, 'conflict'],
  ['shutdown --mode agent', 'error: argument unsupported: QEMU guest agent is not configured', 'agent_unavailable'],
  ['libvirtd down', "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory", 'transient_failure'],
  ['state change lock', 'error: Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainCreate)', 'transient_failure'],
  ['managed save that cannot load', "error: Failed to start domain 'vfh-c-x'\nerror: internal error: qemu unexpectedly closed the monitor: load of migration failed: Invalid argument", 'other'],
];

describe('classifyVirshError', () => {
  it.each(ERRORS)('%s', (_situation, stderr, kind) => {
    expect(classifyVirshError(stderr)).toBe(kind);
  });
});

// The libvirt test driver: real virsh output in ~20 ms, state reset per connection.
describe('against the real virsh (test:///default)', () => {
  const runner = new NodeCommandRunner({ baseEnv: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
  const TEST = 'test:///default';
  const TEST_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';

  it('parses domstate, dominfo, vcpucount and domblklist of the test domain', async () => {
    const out = async (cmd: Command) => assertSucceeded(await runner.run(cmd)).stdout;
    const [state, info, vcpus, blk] = await Promise.all([
      out(virshDomState(TEST, TEST_UUID)),
      out(virshDomInfo(TEST, TEST_UUID)),
      out(virshVcpuCount(TEST, TEST_UUID)),
      out(virshDomBlkList(TEST, TEST_UUID)),
    ]);
    expect(parseDomState(state)).toEqual({ state: 'running', reason: 'unknown' });
    expect(parseDominfo(info)).toMatchObject({ name: 'test', uuid: TEST_UUID, state: 'running', persistent: true });
    expect(parseVcpuCount(vcpus)).toEqual({ maximumConfig: 2, maximumLive: 2, currentConfig: 2, currentLive: 2 });
    expect(parseDomBlkList(blk)).toEqual([{ type: 'file', device: 'disk', target: 'vda', source: '/guest/diskimage1' }]);
  });

  it('classifies what virsh says about an unknown domain and a second start', async () => {
    const missing = await runner.run(virshStart(TEST, '00000000-0000-4000-8000-0000000000ff'));
    expect(missing.exitCode).toBe(1);
    expect(classifyVirshError(missing.stderr)).toBe('not_found');
    const again = await runner.run(virshStart(TEST, TEST_UUID));
    expect(classifyVirshError(again.stderr)).toBe('already_running');
  });
});
