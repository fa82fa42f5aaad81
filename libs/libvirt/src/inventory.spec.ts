import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { domainInventory, networkInventory, poolInventory } from '@virtfleet/contracts';
import { argvOf, CommandFailedError, FakeRunner, NodeCommandRunner, type Command, type CommandResult, type FakeOutcome } from '@virtfleet/exec';
import {
  actOnDomain,
  addressesByMac,
  classifyVirshErrors,
  collectInventory,
  isDomainNotFound,
  INVENTORY_TIMEOUT_MS,
  MAX_BATCH_BYTES,
  netDhcpLeases,
  parseBatchOutput,
  parseDhcpLeases,
  parseDomStats,
  parseNetworkXml,
  parsePoolXml,
  parseSnapshotXml,
  parseVirshEventLine,
  quoteVirshArg,
  readDomain,
  readHintOf,
  stateFromNumbers,
  virshBatchCommands,
  virshEventLoop,
  virshNetworkEventLoop,
  VirshInventoryError,
} from './inventory';
import { virsh } from './virsh';
import { SNAPSHOT_TIMEOUT_MS } from './virsh-snapshot';
import { UnsafeValueError } from './virt-install';

// Real virsh 9.0 output (qemu:///system unless it says otherwise).
// net-dumpxml of an active forward-mode=bridge network.
const NET_BRIDGE_XML = `<network connections='1'>
  <name>vfh-a-br</name>
  <uuid>3a53fbed-9c47-4395-8785-7b0e31e70652</uuid>
  <forward mode='bridge'/>
  <bridge name='vfhabr0'/>
</network>
`;
// net-dumpxml of Debian's default NAT network.
const NET_DEFAULT_XML = `<network>
  <name>default</name>
  <uuid>54554135-0c47-41e9-8549-8993a49e6dab</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <mac address='52:54:00:9f:33:c9'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
`;
// An isolated network (no <forward>), as defined.
const NET_ISOLATED_XML = `<network><name>vfh-a-lease</name><bridge name='vfhalease0'/>
<ip address='10.213.9.1' prefix='24'><dhcp><range start='10.213.9.100' end='10.213.9.200'/></dhcp></ip>
<ip family='ipv6' address='fd00:9::1' prefix='64'><dhcp><range start='fd00:9::100' end='fd00:9::1ff'/></dhcp></ip>
</network>
`;
// pool-dumpxml of an active dir pool.
const POOL_XML = `<pool type='dir'>
  <name>vfh-a-pool</name>
  <uuid>192357e2-5b82-4985-8f60-eedd49767831</uuid>
  <capacity unit='bytes'>270553174016</capacity>
  <allocation unit='bytes'>25621745664</allocation>
  <available unit='bytes'>244931428352</available>
  <source>
  </source>
  <target>
    <path>/var/lib/vfh-a</path>
    <permissions>
      <mode>0755</mode>
      <owner>0</owner>
      <group>0</group>
    </permissions>
  </target>
</pool>
`;
// snapshot-dumpxml of a shut-off snapshot whose name holds quotes and a space.
const SNAPSHOT_XML = `<domainsnapshot>
  <name>s 2 &apos;q&quot;x</name>
  <description>shut off; snapshot</description>
  <state>shutoff</state>
  <parent>
    <name>s1</name>
  </parent>
  <creationTime>1795634561</creationTime>
  <memory snapshot='no'/>
  <disks>
    <disk name='vda' snapshot='internal'/>
  </disks>
  <domain type='qemu'>
    <name>vfh-a-1</name>
    <uuid>516a7bb7-1486-489f-99bf-a637cc13eb81</uuid>
    <memory unit='KiB'>65536</memory>
    <currentMemory unit='KiB'>65536</currentMemory>
    <vcpu placement='static'>1</vcpu>
    <os>
      <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
      <boot dev='hd'/>
    </os>
    <features>
      <acpi/>
      <apic/>
    </features>
    <cpu mode='custom' match='exact' check='none'>
      <model fallback='forbid'>qemu64</model>
    </cpu>
    <clock offset='utc'>
      <timer name='rtc' tickpolicy='catchup'/>
      <timer name='pit' tickpolicy='delay'/>
      <timer name='hpet' present='no'/>
    </clock>
    <on_poweroff>destroy</on_poweroff>
    <on_reboot>restart</on_reboot>
    <on_crash>destroy</on_crash>
    <pm>
      <suspend-to-mem enabled='no'/>
      <suspend-to-disk enabled='no'/>
    </pm>
    <devices>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <disk type='file' device='disk'>
        <driver name='qemu' type='qcow2'/>
        <source file='/var/lib/vfh-a/d1.qcow2'/>
        <target dev='vda' bus='virtio'/>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
      </disk>
      <controller type='usb' index='0' model='ich9-ehci1'>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x7'/>
      </controller>
      <controller type='usb' index='0' model='ich9-uhci1'>
        <master startport='0'/>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0' multifunction='on'/>
      </controller>
      <controller type='usb' index='0' model='ich9-uhci2'>
        <master startport='2'/>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x1'/>
      </controller>
      <controller type='usb' index='0' model='ich9-uhci3'>
        <master startport='4'/>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x2'/>
      </controller>
      <controller type='pci' index='0' model='pci-root'/>
      <interface type='network'>
        <mac address='52:54:00:a2:d9:26'/>
        <source network='vfh-a-br'/>
        <model type='e1000'/>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
      </interface>
      <serial type='pty'>
        <target type='isa-serial' port='0'>
          <model name='isa-serial'/>
        </target>
      </serial>
      <console type='pty'>
        <target type='serial' port='0'/>
      </console>
      <input type='mouse' bus='ps2'/>
      <input type='keyboard' bus='ps2'/>
      <audio id='1' type='none'/>
      <memballoon model='virtio'>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
      </memballoon>
    </devices>
  </domain>
</domainsnapshot>
`;
// `virsh -q net-dhcp-leases` (from a leaseshelper status file: no guest here can run a DHCP client).
const LEASES_Q = ` 2030-01-26 05:09:20   52:54:00:74:06:89   ipv6   fd00:9::150/64    -       00:04:aa:bb
 2030-01-26 05:09:20   52:54:00:74:06:89   ipv4   10.213.9.130/24   -       -
 2030-01-26 05:09:20   52:54:00:a2:d9:26   ipv4   10.213.9.129/24   tiny1   01:52:54:00:a2:d9:26
`;

// `virsh -q net-dhcp-leases` without -q, as virsh printed it for the same leases.
const LEASES_TABLE = ` Expiry Time           MAC address         Protocol   IP address        Hostname   Client ID or DUID
---------------------------------------------------------------------------------------------------------
 2030-01-26 05:09:20   52:54:00:74:06:89   ipv4       10.213.9.130/24   -          -
 2030-01-26 05:09:20   52:54:00:a2:d9:26   ipv4       10.213.9.129/24   tiny1      01:52:54:00:a2:d9:26

`;

// The list batch on test:///default, byte for byte (nonce 0123456789abcdef).
const NONCE = '0123456789abcdef';
const LIST_STDOUT =
  "==vf-0123456789abcdef:dom-all:==6695eb01-f6a4-8304-79aa-97f2502e193f\n==vf-0123456789abcdef:dom-autostart:====vf-0123456789abcdef:dom-persistent:==6695eb01-f6a4-8304-79aa-97f2502e193f\n==vf-0123456789abcdef:dom-snapshots:====vf-0123456789abcdef:dom-state:==Domain: 'test'\n  state.state=1\n  state.reason=0\n==vf-0123456789abcdef:net-all:==dd8fe884-6c02-601e-7551-cca97df1c5df\n==vf-0123456789abcdef:net-active:==dd8fe884-6c02-601e-7551-cca97df1c5df\n==vf-0123456789abcdef:net-autostart:====vf-0123456789abcdef:net-persistent:==dd8fe884-6c02-601e-7551-cca97df1c5df\n==vf-0123456789abcdef:pool-all:==dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566\n==vf-0123456789abcdef:pool-active:==dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566\n==vf-0123456789abcdef:pool-autostart:====vf-0123456789abcdef:pool-persistent:==dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566\n==vf-0123456789abcdef:end:==";

const PATH = process.env['PATH'] ?? '/usr/bin:/bin';
const runner = new NodeCommandRunner({ baseEnv: { PATH } });
const realRun = (cmd: Command) => runner.run(cmd);

describe('batches', () => {
  it('builds one virsh argv: marker, command, …, end marker', () => {
    const [cmd, more] = virshBatchCommands('qemu:///system', [{ kind: 'x', id: 'a-1', command: 'dumpxml a-1' }], NONCE);
    expect(more).toBeUndefined();
    expect(argvOf(cmd as Command)).toEqual([
      'virsh', '-q', '-c', 'qemu:///system',
      `echo ==vf-${NONCE}:x:a-1== ; dumpxml a-1 ; echo ==vf-${NONCE}:end:==`,
    ]);
  });

  it('splits a batch before one argv string reaches the 128 KiB kernel limit', () => {
    const steps = Array.from({ length: 3000 }, (_, i) => ({ kind: 'x', id: uuidOf(i), command: `dumpxml ${uuidOf(i)}` }));
    const cmds = virshBatchCommands('qemu:///system', steps, NONCE);
    expect(cmds.length).toBe(4);
    for (const c of cmds) {
      expect(Buffer.byteLength(c.args[3] ?? '')).toBeLessThanOrEqual(MAX_BATCH_BYTES);
      expect(c.args[3]).toMatch(new RegExp(`echo ==vf-${NONCE}:end:==$`));
    }
    const all = cmds.map((c) => c.args[3]).join(' ; ');
    expect(all.match(/dumpxml /g)).toHaveLength(3000);
  });

  it('refuses a marker or a nonce that virsh would not read as one plain word', () => {
    expect(() => virshBatchCommands('u', [{ kind: 'x', id: "a'b", command: 'list' }], NONCE)).toThrow(/unsafe batch marker/);
    expect(() => virshBatchCommands('u', [{ kind: 'end', id: '', command: 'list' }], NONCE)).toThrow(/unsafe/);
    expect(() => virshBatchCommands('u', [{ kind: 'x', id: '', command: 'list' }], 'not hex!')).toThrow(/nonce/);
  });

  it('splits real output at the markers, glued as -q prints them', () => {
    const out = parseBatchOutput(LIST_STDOUT, NONCE);
    expect(out.complete).toBe(true);
    expect(out.sections.get('dom-all:')).toBe('6695eb01-f6a4-8304-79aa-97f2502e193f\n');
    expect(out.sections.get('dom-autostart:')).toBe('');
    expect(out.sections.get('dom-state:')).toBe("Domain: 'test'\n  state.state=1\n  state.reason=0\n");
    expect(out.sections.size).toBe(13);
  });

  it('ignores markers of another nonce (say, inside a domain description) and sees a cut batch', () => {
    const out = parseBatchOutput(`==vf-${NONCE}:x:a==<d>==vf-ffffffffffffffff:x:b==</d>`, NONCE);
    expect(out.complete).toBe(false);
    expect(out.sections.get('x:a')).toBe('<d>==vf-ffffffffffffffff:x:b==</d>');
  });

  it('sorts virsh errors into gone and unexplained', () => {
    const stderr = [
      '2026-11-25 19:23:17.591+0000: 27284: warning : virDomainSnapshotDefParse:287 : parsing older snapshot that lacks domain',
      "error: failed to get domain '11111111-2222-3333-4444-555555555555'",
      "error: failed to get network '3a53fbed-9c47-4395-8785-7b0e31e70652'",
      "error: Network not found: no network with matching name '3a53fbed-9c47-4395-8785-7b0e31e70652'",
      "error: failed to get pool 'p'",
      "error: Storage pool not found: no storage pool with matching name 'p'",
      "error: Domain snapshot not found: no domain snapshot with matching name 'nosuch'",
      "error: domain 'b95dbf5c-79c4-47aa-84cf-fa91a685ade3' has no current snapshot",
      'error: Failed to get leases info for default',
      'error: this function is not supported by the connection driver: virNetworkGetDHCPLeases',
      'error: internal error: unable to execute QEMU command',
      "error: failed to get domain 'a'b'",
    ].join('\n');
    const errors = classifyVirshErrors(stderr);
    expect([...errors.gone]).toEqual(['11111111-2222-3333-4444-555555555555', '3a53fbed-9c47-4395-8785-7b0e31e70652', 'p', "a'b"]);
    expect(errors.unexplained).toEqual(['error: internal error: unable to execute QEMU command']);
  });
});

describe('quoteVirshArg', () => {
  it('quotes as sh does', () => {
    expect(quoteVirshArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteVirshArg('')).toBe("''");
  });

  const nasty = ["it's", 'a ; b', '--snapshotname', '# not a comment', 'two\nlines', '"dq" \\back\\slash', '$HOME `x`', ' lead\ttab ', 'ünï ✓', "''", ';'];
  it('survives a round trip through real virsh', async () => {
    const script = nasty.map((s, i) => `echo ==vf-${NONCE}:q:${i}== ; echo -- ${quoteVirshArg(s)}`).join(' ; ');
    const res = await realRun(virsh('test:///default', `${script} ; echo ==vf-${NONCE}:end:==`));
    expect(res.stderr).toBe('');
    const out = parseBatchOutput(res.stdout, NONCE);
    expect(nasty.map((_, i) => out.sections.get(`q:${i}`))).toEqual(nasty);
  });
});

describe('parsers of real virsh output', () => {
  it('reads domstats --state by name, names with quotes included', () => {
    const stats = parseDomStats(
      "Domain: 'vfh-a-1'\n  state.state=5\n  state.reason=2\n\nDomain: 'vfh-a-2'\n  state.state=1\n  state.reason=1\n\nDomain: 'vfh-a-q'uo\"te: x'\n  state.state=3\n  state.reason=1\n\nDomain: 'odd'\n  state.state=1\n  state.reason=99\n",
    );
    expect(Object.fromEntries(stats)).toEqual({
      'vfh-a-1': { state: 'shutoff', reason: 'destroyed' },
      'vfh-a-2': { state: 'running', reason: 'booted' },
      'vfh-a-q\'uo"te: x': { state: 'paused', reason: 'user' },
      odd: { state: 'running', reason: 'unknown' },
    });
  });

  it.each([
    [1, 5, 'running', 'unpaused'],
    [1, 4, 'running', 'from snapshot'],
    [3, 7, 'paused', 'from snapshot'],
    [5, 1, 'shutoff', 'shutdown'],
    [5, 5, 'shutoff', 'saved'],
    [4, 1, 'shutdown', 'user'],
    [6, 1, 'crashed', 'panicked'],
    [9, 0, 'nostate', 'unknown'],
  ])('state %i reason %i → %s (%s)', (state, reason, power, word) => {
    expect(stateFromNumbers(state, reason)).toEqual({ state: power, reason: word });
  });

  it('reads networks: bridge, NAT by default, isolated', () => {
    expect(parseNetworkXml(NET_BRIDGE_XML)).toEqual({
      name: 'vfh-a-br', uuid: '3a53fbed-9c47-4395-8785-7b0e31e70652', bridge: 'vfhabr0', forward: 'bridge', xml: NET_BRIDGE_XML,
    });
    expect(parseNetworkXml(NET_DEFAULT_XML)).toMatchObject({ name: 'default', bridge: 'virbr0', forward: 'nat' });
    expect(parseNetworkXml('<network><name>n</name><forward/></network>').forward).toBe('nat');
    expect(parseNetworkXml(NET_ISOLATED_XML)).toMatchObject({ name: 'vfh-a-lease', bridge: 'vfhalease0', forward: 'isolated' });
    expect(parseNetworkXml(NET_ISOLATED_XML).uuid).toBeUndefined();
    expect(() => parseNetworkXml(POOL_XML)).toThrow(/<network>/);
  });

  it('reads a pool', () => {
    expect(parsePoolXml(POOL_XML)).toEqual({ name: 'vfh-a-pool', path: '/var/lib/vfh-a', capacityBytes: 270553174016, availableBytes: 244931428352 });
    expect(parsePoolXml("<pool type='dir'><name>p</name><capacity unit='GiB'>1</capacity></pool>")).toEqual({ name: 'p', capacityBytes: 1024 ** 3 });
  });

  it('reads a snapshot', () => {
    expect(parseSnapshotXml(SNAPSHOT_XML)).toEqual({
      name: `s 2 'q"x`,
      description: 'shut off; snapshot',
      state: 'shutoff',
      parent: 's1',
      createdAt: '2026-11-25T19:22:41.000Z',
    });
    expect(parseSnapshotXml('<domainsnapshot><name>bare</name></domainsnapshot>')).toEqual({ name: 'bare' });
  });

  it('reads DHCP leases, quiet or with the header', () => {
    const leases = parseDhcpLeases(LEASES_Q);
    expect(leases).toEqual([
      { mac: '52:54:00:74:06:89', ip: 'fd00:9::150', prefix: 64, protocol: 'ipv6', expiry: '2030-01-26 05:09:20', clientId: '00:04:aa:bb' },
      { mac: '52:54:00:74:06:89', ip: '10.213.9.130', prefix: 24, protocol: 'ipv4', expiry: '2030-01-26 05:09:20' },
      { mac: '52:54:00:a2:d9:26', ip: '10.213.9.129', prefix: 24, protocol: 'ipv4', expiry: '2030-01-26 05:09:20', hostname: 'tiny1', clientId: '01:52:54:00:a2:d9:26' },
    ]);
    expect(parseDhcpLeases(LEASES_TABLE).map((l) => l.ip)).toEqual(['10.213.9.130', '10.213.9.129']);
    expect(Object.fromEntries(addressesByMac(leases))).toEqual({
      '52:54:00:74:06:89': ['fd00:9::150', '10.213.9.130'],
      '52:54:00:a2:d9:26': ['10.213.9.129'],
    });
    expect(parseDhcpLeases('')).toEqual([]);
    expect(argvOf(netDhcpLeases('qemu:///system', '--odd'))).toEqual(['virsh', '-q', '-c', 'qemu:///system', 'net-dhcp-leases', '--network', '--odd']);
  });
});

describe('events', () => {
  it('builds the two event loops (domain events and network events are separate processes)', () => {
    expect(argvOf(virshEventLoop('qemu:///system'))).toEqual(['virsh', '-q', '-c', 'qemu:///system', 'event', '--all', '--loop', '--timestamp']);
    expect(argvOf(virshNetworkEventLoop('qemu:///system'))).toEqual([
      'virsh', '-q', '-c', 'qemu:///system', 'net-event', '--event', 'lifecycle', '--loop', '--timestamp',
    ]);
  });

  const at = '2026-11-25T14:48:42.428Z';
  it.each([
    // seen on qemu:///system
    ["2026-11-25 14:48:42.428+0000: event 'lifecycle' for domain 'vfh-a-2': Stopped Destroyed", { at, event: 'lifecycle', domain: 'vfh-a-2', detail: 'Stopped Destroyed' }],
    ["2026-11-25 14:48:42.428+0000: event 'lifecycle' for domain 'vfh-a-1': Shutdown Finished after host request", { at, event: 'lifecycle', domain: 'vfh-a-1', detail: 'Shutdown Finished after host request' }],
    ["2026-11-25 14:48:42.428+0000: event 'lifecycle' for domain 'vfh-a-q'uo\"te: x': Defined Added", { at, event: 'lifecycle', domain: 'vfh-a-q\'uo"te: x', detail: 'Defined Added' }],
    ["2026-11-25 14:48:42.428+0000: event 'lifecycle' for domain 'vfh-a-q'uo\"te: x': Undefined Removed", { at, event: 'lifecycle', domain: 'vfh-a-q\'uo"te: x', detail: 'Undefined Removed' }],
    ["2026-11-25 14:48:42.428+0000: event 'device-added' for domain 'vfh-a-2': virtio-disk2", { at, event: 'device-added', domain: 'vfh-a-2', detail: 'virtio-disk2' }],
    ["2026-11-25 14:48:42.428+0000: event 'agent-lifecycle' for domain 'vfh-a-1': state: 'disconnected' reason: 'domain started'", { at, event: 'agent-lifecycle', domain: 'vfh-a-1', detail: "state: 'disconnected' reason: 'domain started'" }],
    ["2026-11-25 14:48:42.428+0000: event 'migration-iteration' for domain 'vfh-a-1': iteration: '1'", { at, event: 'migration-iteration', domain: 'vfh-a-1', detail: "iteration: '1'" }],
    ["2026-11-25 14:48:42.428+0000: event 'job-completed' for domain 'vfh-c-x':", { at, event: 'job-completed', domain: 'vfh-c-x' }],
    ["2026-11-25 14:48:42.428+0000: event 'control-error' for domain 'vfh-c-x'", { at, event: 'control-error', domain: 'vfh-c-x' }],
    ["2026-11-25 14:48:42.428+0000: event 'lifecycle' for network vfh-a-lease: Started", { at, event: 'lifecycle', network: 'vfh-a-lease', detail: 'Started' }],
    // forms from virsh's source and the operation guide
    ["event 'reboot' for domain 'tiny1'", { event: 'reboot', domain: 'tiny1' }],
    ["event 'reboot' for domain 'a': b'", { event: 'reboot', domain: "a': b" }],
    ["event 'tray-change' for domain 'x' disk sata0-0-2: opened", { event: 'tray-change', domain: 'x', detail: 'disk sata0-0-2: opened' }],
    ["event 'agent-lifecycle' for domain 'a': b': state: 'connected' reason: 'channel event'", { event: 'agent-lifecycle', domain: "a': b", detail: "state: 'connected' reason: 'channel event'" }],
    ["2026-11-25 16:48:42.428+0200: event 'lifecycle' for domain 'x': Started Booted", { at, event: 'lifecycle', domain: 'x', detail: 'Started Booted' }],
    ["event 'lifecycle' for domain 'x': Started Booted\n", { event: 'lifecycle', domain: 'x', detail: 'Started Booted' }],
  ])('%s', (line, want) => {
    expect(parseVirshEventLine(line)).toEqual(want);
  });

  it.each([['events received: 1'], ['\toperation: 2'], ['recipient: guest'], [''], ['error: event loop timed out'], ["event 'lifecycle' for domain x"]])('%j is not an event', (line) => {
    expect(parseVirshEventLine(line)).toBeNull();
  });
});

// ------------------------------------------------------------------------------------------
// The whole flow against an emulated virsh: what it runs, and what it makes of failures.
// ------------------------------------------------------------------------------------------

function uuidOf(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

type Answer = { out?: string; err?: string };

/** Runs batches the way virsh does: every command, errors to stderr, exit code of the last one. */
function emulatedVirsh(answer: (command: string) => Answer) {
  return (argv: readonly string[]): FakeOutcome => {
    const words = argv.slice(4);
    const commands = words.length === 1 ? (words[0] ?? '').split(' ; ') : [words.join(' ')];
    let stdout = '';
    let stderr = '';
    let failed = false;
    for (const command of commands) {
      const a: Answer = command.startsWith('echo ') ? { out: command.slice(5) } : answer(command);
      stdout += a.out ?? '';
      stderr += a.err ? `${a.err}\n` : '';
      failed = a.err !== undefined;
    }
    return { stdout, stderr, exitCode: failed ? 1 : 0 };
  };
}

const [A, B, C] = [uuidOf(0xa), uuidOf(0xb), uuidOf(0xc)];
const NET = '3a53fbed-9c47-4395-8785-7b0e31e70652';
const POOL = '192357e2-5b82-4985-8f60-eedd49767831';
const domXml = (name: string, uuid: string, mac: string) =>
  `<domain type='kvm'><name>${name}</name><uuid>${uuid}</uuid><memory unit='MiB'>512</memory><vcpu>2</vcpu><os><type>hvm</type></os>` +
  `<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/kvm/store/${name}.qcow2'/><target dev='vda' bus='virtio'/></disk>` +
  `<interface type='network'><mac address='${mac}'/><source network='vfh-a-br'/><model type='virtio'/></interface></devices></domain>`;
const LEASE_A = ' 2030-01-26 05:09:20   52:54:00:00:00:0a   ipv4   10.0.0.10/24   a   -\n';
const LEASE_B = ' 2030-01-26 05:09:20   52:54:00:00:00:0b   ipv4   10.0.0.11/24   b   -\n';

function host(overrides: Record<string, Answer> = {}): (command: string) => Answer {
  const answers: Record<string, Answer> = {
    'list --all --uuid': { out: `${A}\n${B}\n${C}\n` },
    'list --all --autostart --uuid': { out: `${A}\n` },
    'list --all --persistent --uuid': { out: `${A}\n${B}\n${C}\n` },
    'list --all --with-snapshot --uuid': { out: `${A}\n` },
    'domstats --state': { out: "Domain: 'a'\n  state.state=1\n  state.reason=1\n\nDomain: 'b'\n  state.state=5\n  state.reason=1\n\n" },
    'net-list --all --uuid': { out: `${NET}\n` },
    'net-list --uuid': { out: `${NET}\n` },
    'net-list --all --autostart --uuid': { out: '' },
    'net-list --all --persistent --uuid': { out: `${NET}\n` },
    'pool-list --all --uuid': { out: `${POOL}\n` },
    'pool-list --uuid': { out: `${POOL}\n` },
    'pool-list --all --autostart --uuid': { out: `${POOL}\n` },
    'pool-list --all --persistent --uuid': { out: `${POOL}\n` },
    [`dumpxml ${A}`]: { out: domXml('a', A, '52:54:00:00:00:0a') },
    [`dumpxml ${B}`]: { out: domXml('b', B, '52:54:00:00:00:0b') },
    [`dumpxml ${C}`]: { err: `error: failed to get domain '${C}'` }, // undefined after the list
    [`snapshot-list ${A} --name`]: { out: `s1\ns 2 'q"x\n` },
    [`snapshot-current ${A} --name`]: { out: `s 2 'q"x` },
    [`snapshot-dumpxml --domain ${A} --snapshotname 's1'`]: { out: '<domainsnapshot><name>s1</name><state>running</state><creationTime>1795634560</creationTime></domainsnapshot>' },
    [`snapshot-dumpxml --domain ${A} --snapshotname ${quoteVirshArg(`s 2 'q"x`)}`]: { out: SNAPSHOT_XML },
    [`net-dumpxml ${NET}`]: { out: NET_BRIDGE_XML },
    [`net-dhcp-leases ${NET}`]: { out: LEASE_A + LEASE_B },
    [`pool-dumpxml ${POOL}`]: { out: POOL_XML },
    ...overrides,
  };
  return (command) => {
    const a = answers[command];
    if (!a) throw new Error(`emulated virsh has no answer for: ${command}`);
    return a;
  };
}

describe('collectInventory (emulated virsh)', () => {
  it('reads everything in three processes, leaving out a domain undefined meanwhile', async () => {
    const fake = new FakeRunner().on('virsh', emulatedVirsh(host()));
    const inv = await collectInventory((c) => fake.run(c), 'qemu:///system');
    expect(fake.calls).toHaveLength(3);
    expect(inv.domains.map((d) => [d.name, d.state, d.reason, d.autostart, d.persistent])).toEqual([
      ['a', 'running', 'booted', true, true],
      ['b', 'shutoff', 'shutdown', false, true],
    ]);
    const [a, b] = inv.domains;
    expect(a?.interfaces[0]?.addresses).toEqual(['10.0.0.10']);
    expect(b?.interfaces[0]?.addresses).toBeUndefined(); // a shut-off domain's lease is stale
    expect(a?.snapshots).toEqual([
      { name: 's1', state: 'running', createdAt: '2026-11-25T19:22:40.000Z', current: false },
      { name: `s 2 'q"x`, state: 'shutoff', parent: 's1', description: 'shut off; snapshot', createdAt: '2026-11-25T19:22:41.000Z', current: true },
    ]);
    expect(b?.snapshots).toEqual([]);
    expect(inv.networks).toEqual([
      {
        name: 'vfh-a-br',
        uuid: NET,
        bridge: 'vfhabr0',
        forward: 'bridge',
        xml: NET_BRIDGE_XML,
        active: true,
        autostart: false,
        persistent: true,
        // The active network's DHCP leases (virsh net-dhcp-leases), as GET /v1/networks shows them.
        leases: [
          { mac: '52:54:00:00:00:0a', ip: '10.0.0.10', hostname: 'a', expiry: '2030-01-26 05:09:20' },
          { mac: '52:54:00:00:00:0b', ip: '10.0.0.11', hostname: 'b', expiry: '2030-01-26 05:09:20' },
        ],
      },
    ]);
    expect(inv.pools).toEqual([
      { name: 'vfh-a-pool', path: '/var/lib/vfh-a', capacityBytes: 270553174016, availableBytes: 244931428352, active: true, autostart: true, persistent: true },
    ]);
    for (const d of inv.domains) domainInventory.parse(d);
    for (const n of inv.networks) networkInventory.parse(n);
    for (const p of inv.pools) poolInventory.parse(p);
  });

  it('needs no snapshot process when no domain has snapshots', async () => {
    const fake = new FakeRunner().on('virsh', emulatedVirsh(host({ 'list --all --with-snapshot --uuid': { out: '' } })));
    const inv = await collectInventory((c) => fake.run(c), 'qemu:///system');
    expect(fake.calls).toHaveLength(2);
    expect(inv.domains.every((d) => d.snapshots.length === 0)).toBe(true);
  });

  it('drops a snapshot deleted between its listing and its XML', async () => {
    const gone = { err: "error: Domain snapshot not found: no domain snapshot with matching name 's1'" };
    const fake = new FakeRunner().on('virsh', emulatedVirsh(host({ [`snapshot-dumpxml --domain ${A} --snapshotname 's1'`]: gone })));
    const inv = await collectInventory((c) => fake.run(c), 'qemu:///system');
    expect(inv.domains[0]?.snapshots.map((s) => s.name)).toEqual([`s 2 'q"x`]);
  });

  it('throws, with argv, exit code and stderr, on any error that does not say "gone"', async () => {
    const fake = new FakeRunner().on('virsh', emulatedVirsh(host({ [`dumpxml ${B}`]: { err: 'error: internal error: client socket is closed' } })));
    const err = await collectInventory((c) => fake.run(c), 'qemu:///system').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VirshInventoryError);
    expect(err).toBeInstanceOf(CommandFailedError);
    const e = err as VirshInventoryError;
    expect(e.message).toMatch(/virsh batch failed: error: internal error: client socket is closed/);
    expect(e.argv.slice(0, 4)).toEqual(['virsh', '-q', '-c', 'qemu:///system']);
    expect(e.argv[4]).toContain(`dumpxml ${B}`);
    expect(e.exitCode).toBe(0); // the last command of the batch was an echo
    expect(e.stderrTail).toContain('client socket is closed');
  });

  it('throws when a domain printed nothing and virsh did not say it is gone', async () => {
    const fake = new FakeRunner().on('virsh', emulatedVirsh(host({ [`dumpxml ${B}`]: { out: '' } })));
    await expect(collectInventory((c) => fake.run(c), 'qemu:///system')).rejects.toThrow(/printed nothing for x:.*did not say it is gone/);
  });

  it('throws when a batch did not run to its end', async () => {
    const fake = new FakeRunner().on('virsh', () => ({ exitCode: 1, stderr: 'error: failed to connect to the hypervisor\n' }));
    await expect(collectInventory((c) => fake.run(c), 'qemu:///system')).rejects.toThrow(/did not run to its end.*failed to connect/);
  });

  it('splits 2,000 domains over a few batch processes', async () => {
    const many = Array.from({ length: 2000 }, (_, i) => uuidOf(i + 1));
    const byUuid = new Map(many.map((u, i) => [u, i]));
    const answer = (command: string): Answer => {
      if (command === 'list --all --uuid' || command === 'list --all --persistent --uuid') return { out: many.join('\n') + '\n' };
      if (command === 'domstats --state') return { out: many.map((_, i) => `Domain: 'd${i}'\n  state.state=5\n  state.reason=0\n`).join('\n') };
      const m = /^dumpxml (\S+)$/.exec(command);
      if (m?.[1]) return { out: domXml(`d${byUuid.get(m[1]) ?? -1}`, m[1], '52:54:00:00:00:01') };
      return command.includes('list') ? { out: '' } : { err: `error: unexpected ${command}` };
    };
    const fake = new FakeRunner().on('virsh', emulatedVirsh(answer));
    const inv = await collectInventory((c) => fake.run(c), 'qemu:///system');
    expect(inv.domains).toHaveLength(2000);
    expect(inv.domains[1999]).toMatchObject({ name: 'd1999', state: 'shutoff', reason: 'unknown' });
    expect(fake.calls.length).toBe(4); // the lists, then three detail batches side by side
  });
});

describe('readDomain (emulated virsh)', () => {
  const one = (overrides: Record<string, Answer> = {}) =>
    host({
      [`domstats --state ${A}`]: { out: "Domain: 'a'\n  state.state=1\n  state.reason=5\n\n" },
      'domuuid --domain a': { out: `${A}\n` },
      "net-dhcp-leases --network 'vfh-a-br'": { out: LEASE_A },
      ...overrides,
    });

  it('reads one domain by name like the full inventory does', async () => {
    const fake = new FakeRunner().on('virsh', emulatedVirsh(one()));
    const dom = await readDomain((c) => fake.run(c), 'qemu:///system', { name: 'a' });
    expect(fake.calls[0]).toEqual(['virsh', '-q', '-c', 'qemu:///system', 'domuuid', '--domain', 'a']);
    expect(dom).toMatchObject({ uuid: A, name: 'a', state: 'running', reason: 'unpaused', autostart: true, persistent: true });
    expect(dom?.interfaces[0]?.addresses).toEqual(['10.0.0.10']);
    expect(dom?.snapshots.map((s) => [s.name, s.current])).toEqual([['s1', false], [`s 2 'q"x`, true]]);
    expect(domainInventory.parse(dom)).toBeTruthy();
  });

  it('is null for a name or a UUID libvirt does not know', async () => {
    const fake = new FakeRunner().on(
      'virsh',
      emulatedVirsh(
        one({
          'domuuid --domain nosuch': { err: "error: failed to get domain 'nosuch'" },
          [`domstats --state ${C}`]: { err: `error: failed to get domain '${C}'` },
          [`snapshot-list ${C} --name`]: { err: `error: failed to get domain '${C}'` },
          [`snapshot-current ${C} --name`]: { err: `error: failed to get domain '${C}'` },
        }),
      ),
    );
    expect(await readDomain((c) => fake.run(c), 'qemu:///system', { name: 'nosuch' })).toBeNull();
    expect(await readDomain((c) => fake.run(c), 'qemu:///system', { uuid: C.toUpperCase() })).toBeNull();
  });

  it('is null when virsh resolved the name as an ID or a UUID of another domain', async () => {
    const fake = new FakeRunner().on('virsh', emulatedVirsh(one({ 'domuuid --domain 7': { out: `${A}\n` } })));
    expect(await readDomain((c) => fake.run(c), 'qemu:///system', { name: '7' })).toBeNull();
  });

  it('throws with argv, exit code and stderr on any other failure', async () => {
    const fake = new FakeRunner().on('virsh', () => ({ exitCode: 1, stderr: 'error: failed to connect to the hypervisor\nerror: Operation not supported\n' }));
    const err = (await readDomain((c) => fake.run(c), 'qemu:///system', { name: 'a' }).catch((e: unknown) => e)) as CommandFailedError;
    expect(err).toBeInstanceOf(CommandFailedError);
    expect(err.argv).toEqual(['virsh', '-q', '-c', 'qemu:///system', 'domuuid', '--domain', 'a']);
    expect(err.exitCode).toBe(1);
    expect(err.stderrTail).toContain('failed to connect');
    expect(isDomainNotFound("error: failed to get domain 'x'")).toBe(true);
    expect(isDomainNotFound('error: Domain not found: no domain with matching uuid')).toBe(true);
  });

  it('wants a UUID or a name', async () => {
    await expect(readDomain(() => Promise.reject(new Error('not run')), 'u', {})).rejects.toThrow(/uuid or a name/);
    await expect(readDomain(() => Promise.reject(new Error('not run')), 'u', { uuid: 'x ; destroy y' })).rejects.toThrow(/not a UUID/);
  });
});

describe('actOnDomain (emulated virsh)', () => {
  const URI = 'qemu:///system';
  const NOT_FOUND = (name: string) => ({ err: `error: Domain snapshot not found: no domain snapshot with matching name '${name}'` });
  const one = (overrides: Record<string, Answer> = {}) => {
    const base = host({
      [`domstats --state ${A}`]: { out: "Domain: 'a'\n  state.state=1\n  state.reason=5\n\n" },
      "net-dhcp-leases --network 'vfh-a-br'": { out: LEASE_A },
      ...overrides,
    });
    // Snapshot names the hint makes up: virsh does not know them.
    return (command: string): Answer => {
      const m = /^snapshot-dumpxml --domain \S+ --snapshotname '(n\d+|gone)'$/.exec(command);
      return m?.[1] && !(command in overrides) ? NOT_FOUND(m[1]) : base(command);
    };
  };
  const HINT = { snapshots: ['s1', `s 2 'q"x`], networks: ['vfh-a-br'] };
  const scriptOf = (call: readonly string[] | undefined) => call?.[4] ?? '';

  it('runs the action, then the read, and with a right hint the snapshots and leases too, in one process', async () => {
    const fake = new FakeRunner().on('virsh', emulatedVirsh(one({ [`suspend --domain ${A}`]: {} })));
    const res = await actOnDomain((c) => fake.run(c), URI, A.toUpperCase(), { verb: 'suspend' }, HINT);
    expect(fake.calls).toHaveLength(1);
    const script = scriptOf(fake.calls[0]);
    expect(script.indexOf(`suspend --domain ${A}`)).toBeLessThan(script.indexOf(`dumpxml ${A}`));
    expect(res.answer).toBeUndefined();
    // the same domain a plain read (three processes) makes
    const plain = new FakeRunner().on('virsh', emulatedVirsh(one()));
    expect(res.domain).toEqual(await readDomain((c) => plain.run(c), URI, { uuid: A }));
    expect(plain.calls).toHaveLength(3);
    expect(res.domain?.interfaces[0]?.addresses).toEqual(['10.0.0.10']);
    if (!res.domain) throw new Error('no domain read');
    expect(readHintOf(res.domain)).toEqual(HINT);
  });

  it('reads what the hint missed in a second process, and ignores what it named in vain', async () => {
    const fake = new FakeRunner().on(
      'virsh',
      emulatedVirsh(one({ [`suspend --domain ${A}`]: {}, "net-dhcp-leases --network 'other'": { err: "error: failed to get network 'other'\nerror: Network not found: no network with matching name 'other'" } })),
    );
    const res = await actOnDomain((c) => fake.run(c), URI, A, { verb: 'suspend' }, { snapshots: ['gone', 's1'], networks: ['other'] });
    expect(fake.calls).toHaveLength(3); // the action's batch, then the one missed snapshot and the missed leases side by side
    expect(scriptOf(fake.calls[1]) + scriptOf(fake.calls[2])).not.toContain("--snapshotname 's1'");
    expect(res.domain?.snapshots.map((x) => x.name)).toEqual(['s1', `s 2 'q"x`]);
    expect(res.domain?.interfaces[0]?.addresses).toEqual(['10.0.0.10']);
  });

  it('keeps the action in one process however long the hint: what does not fit is read after', async () => {
    const names = [...Array.from({ length: 2000 }, (_, i) => `n${i}`), 's1', `s 2 'q"x`];
    const fake = new FakeRunner().on('virsh', emulatedVirsh(one({ [`suspend --domain ${A}`]: {} })));
    const res = await actOnDomain((c) => fake.run(c), URI, A, { verb: 'suspend' }, { snapshots: names });
    expect(fake.calls).toHaveLength(3); // one batch with the action and as much of the hint as fits, then the XMLs and the leases
    expect(Buffer.byteLength(scriptOf(fake.calls[0]))).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expect(scriptOf(fake.calls[0])).toContain(`suspend --domain ${A}`);
    expect(res.domain?.snapshots.map((x) => x.name)).toEqual(['s1', `s 2 'q"x`]);
  });

  const CREATE_S1 = `snapshot-create-as '--domain' '${A}' '--name' 's1'`;
  it.each([
    ['start, already active (virsh’s own check)', { verb: 'start' }, `start --domain ${A}`, 'error: Domain is already active', 'already'],
    ['destroy, shut off', { verb: 'destroy' }, `destroy --domain ${A}`, `error: Failed to destroy domain '${A}'\nerror: Requested operation is not valid: domain is not running`, 'already'],
    ['suspend, shut off', { verb: 'suspend' }, `suspend --domain ${A}`, `error: Failed to suspend domain '${A}'\nerror: Requested operation is not valid: domain is not running`, 'not_running'],
    ['resume, running', { verb: 'resume' }, `resume --domain ${A}`, `error: Failed to resume domain '${A}'\nerror: Requested operation is not valid: domain is already running`, 'already'],
    ['resume, pmsuspended', { verb: 'resume' }, `resume --domain ${A}`, `error: Failed to resume domain '${A}'\nerror: Requested operation is not valid: domain is pmsuspended`, 'not_running'],
    ['create, name taken', { verb: 'snapshot-create-as', name: 's1' }, CREATE_S1, 'error: operation failed: domain moment s1 already exists', 'exists'],
    ['create, a raw disk', { verb: 'snapshot-create-as', name: 's1' }, CREATE_S1, 'error: unsupported configuration: internal snapshot for disk vdb unsupported for storage type raw', 'unsupported'],
    ['revert, no such name', { verb: 'snapshot-revert', name: 'gone' }, `snapshot-revert '--domain' '${A}' '--snapshotname' 'gone'`, NOT_FOUND('gone').err, 'not_found'],
    ['delete, no such name', { verb: 'snapshot-delete', name: 'gone' }, `snapshot-delete '--domain' '${A}' '--snapshotname' 'gone'`, NOT_FOUND('gone').err, 'not_found'],
  ] as const)('%s is an answer, not an error', async (_label, action, command, err, kind) => {
    const fake = new FakeRunner().on('virsh', emulatedVirsh(one({ [command]: { err } })));
    // the revert's name is read along (the hint), so its "not found" comes twice: once the action's
    const res = await actOnDomain((c) => fake.run(c), URI, A, action, { snapshots: ['gone'] });
    expect(res.answer).toEqual({ kind, said: err.split('\n').at(-1)?.slice('error: '.length) });
    expect(res.domain).toMatchObject({ uuid: A, name: 'a' });
  });

  it('a name in the hint that the read alone says is gone is no answer of the action', async () => {
    const fake = new FakeRunner().on('virsh', emulatedVirsh(one({ [`snapshot-revert '--domain' '${A}' '--snapshotname' 'gone'`]: {} })));
    const res = await actOnDomain((c) => fake.run(c), URI, A, { verb: 'snapshot-revert', name: 'gone' }, { snapshots: ['gone'] });
    expect(res.answer).toBeUndefined();
  });

  it('fails with virsh’s words on any other error of the action', async () => {
    const err = "error: Failed to suspend domain 'a'\nerror: internal error: unable to execute QEMU command 'stop'";
    const fake = new FakeRunner().on('virsh', emulatedVirsh(one({ [`suspend --domain ${A}`]: { err } })));
    await expect(actOnDomain((c) => fake.run(c), URI, A, { verb: 'suspend' })).rejects.toThrow(/virsh batch failed: error: internal error: unable to execute QEMU command 'stop'/);
  });

  it('a domain that is gone is null (the action’s own "failed to get domain" included)', async () => {
    const gone = { err: `error: failed to get domain '${C}'` };
    const fake = new FakeRunner().on(
      'virsh',
      emulatedVirsh(one({ [`destroy --domain ${C}`]: gone, [`domstats --state ${C}`]: gone, [`snapshot-list ${C} --name`]: gone, [`snapshot-current ${C} --name`]: gone })),
    );
    expect(await actOnDomain((c) => fake.run(c), URI, C, { verb: 'destroy' })).toEqual({ domain: null });
  });

  it('checks the UUID before it builds anything, and a snapshot name and description as virsh-snapshot.ts does', async () => {
    const never = () => Promise.reject(new Error('not run'));
    await expect(actOnDomain(never, URI, 'x ; destroy y', { verb: 'start' })).rejects.toThrow(/not a UUID/);
    await expect(actOnDomain(never, URI, A, { verb: 'snapshot-delete', name: "a' ; undefine b" })).rejects.toThrow(UnsafeValueError);
    await expect(actOnDomain(never, URI, A, { verb: 'snapshot-create-as', name: 's1', description: 'two\nlines' })).rejects.toThrow(UnsafeValueError);
  });

  it('gives a snapshot action the snapshot time limit, a power action the batch one', async () => {
    const fake = new FakeRunner().on('virsh', emulatedVirsh(one({ [CREATE_S1]: {}, [`start --domain ${A}`]: {} })));
    const seen: Command[] = [];
    const run = (c: Command) => (seen.push(c), fake.run(c));
    await actOnDomain(run, URI, A, { verb: 'snapshot-create-as', name: 's1' }, HINT);
    await actOnDomain(run, URI, A, { verb: 'start' }, HINT);
    expect(seen.map((c) => c.timeoutMs)).toEqual([SNAPSHOT_TIMEOUT_MS, INVENTORY_TIMEOUT_MS]);
  });
});

// ------------------------------------------------------------------------------------------
// Real virsh, libvirt's test driver
// ------------------------------------------------------------------------------------------

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
const TEST_NS = "xmlns:test='http://libvirt.org/schemas/domain/test/1.0'";
const ODD_DOMAIN = `odd 'name': "1"`;
const ODD_SNAPSHOT = `it's; "b" #2`;
const RUNSTATES = [1, 3, 5] as const; // running, paused, shut off

function testSnapshot(name: string, parent: string | undefined, created: number): string {
  const parentXml = parent ? `<parent><name>${xmlEscape(parent)}</name></parent>` : '';
  // <active>1</active> marks the current snapshot
  return `<test:domainsnapshot><name>${xmlEscape(name)}</name><description>d ${xmlEscape(name)}</description><state>running</state>${parentXml}<creationTime>${created}</creationTime><active>${parent ? 1 : 0}</active></test:domainsnapshot>`;
}

function testDomain(i: number): string {
  const name = i === 1 ? ODD_DOMAIN : `gen-${String(i).padStart(4, '0')}`;
  const mac = `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
  const snaps = i < 3 ? testSnapshot('snap-a', undefined, 1795634560) + testSnapshot(ODD_SNAPSHOT, 'snap-a', 1795634570) : '';
  return `<domain type='test' ${TEST_NS}><name>${xmlEscape(name)}</name><uuid>${uuidOf(i)}</uuid>
    <memory unit='MiB'>128</memory><currentMemory unit='MiB'>64</currentMemory><vcpu current='1'>2</vcpu><os><type>hvm</type></os>
    <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/kvm/store/gen-${i}.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='${mac}'/><source network='default'/></interface></devices>
    <test:runstate>${RUNSTATES[i % 3]}</test:runstate>${snaps}</domain>`;
}

function testNode(domains: number): string {
  return `<node>
  <cpu><mhz>2000</mhz><model>i686</model><active>2</active><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads></cpu>
  <memory>8388608</memory>
  ${Array.from({ length: domains }, (_, i) => testDomain(i)).join('\n')}
  <network><name>default</name><uuid>${NET}</uuid><bridge name='virbr0'/><forward/><ip address='192.168.122.1' netmask='255.255.255.0'/></network>
  <pool type='dir'><name>default-pool</name><uuid>${POOL}</uuid><capacity unit='bytes'>107374182400</capacity><allocation unit='bytes'>0</allocation><available unit='bytes'>107374182400</available><target><path>/default-pool</path></target></pool>
</node>`;
}

describe('actOnDomain with real virsh (test driver)', () => {
  // test:///default starts afresh with each connection: what an action did shows only in its own process.
  const TEST = 'test:///default';
  const TEST_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';
  const counted = () => {
    const calls: Command[] = [];
    return { calls, run: (c: Command) => (calls.push(c), realRun(c)) };
  };

  it('creates a snapshot whose description virsh’s batch parser must not split, and reads it in the same process', async () => {
    const description = `--name evil ; snapshot-delete --current 'q' "dq" \\ # not a comment & <x>`;
    const { calls, run } = counted();
    const res = await actOnDomain(run, TEST, TEST_UUID, { verb: 'snapshot-create-as', name: 's1', description }, { snapshots: ['s1'], networks: ['default'] });
    expect(calls).toHaveLength(1);
    expect(res.answer).toBeUndefined();
    expect(res.domain?.snapshots).toEqual([expect.objectContaining({ name: 's1', description, state: 'running', current: true })]);
  });

  it.each(['snapshot-revert', 'snapshot-delete'] as const)('%s of an unknown name answers not_found, the same name read along notwithstanding', async (verb) => {
    const res = await actOnDomain(realRun, TEST, TEST_UUID, { verb, name: 'nosuch' }, { snapshots: ['nosuch'] });
    expect(res.answer).toEqual({ kind: 'not_found', said: "Domain snapshot not found: no domain snapshot with matching name 'nosuch'" });
    expect(res.domain).toMatchObject({ name: 'test', state: 'running' });
  });

  it('destroy: the read after it shows it done', async () => {
    const res = await actOnDomain(realRun, TEST, TEST_UUID, { verb: 'destroy' });
    expect(res).toEqual({ domain: expect.objectContaining({ name: 'test', state: 'shutoff' }) });
  });
});

describe('collectInventory with real virsh (test driver)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vf-inventory-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads 1,000 domains in 4 virsh processes and well under 5 s', async () => {
    const file = join(dir, 'node-1000.xml');
    await writeFile(file, testNode(1000));
    const calls: Command[] = [];
    const t0 = performance.now();
    const inv = await collectInventory((c) => {
      calls.push(c);
      return realRun(c);
    }, `test://${file}`);
    const ms = performance.now() - t0;
    // Measured on the 2-core dev VM: 1.5–2.4 s, most of it the test driver parsing this
    // 1,000-domain file once per connection (qemu:///system connects in ~10 ms).
    expect(ms).toBeLessThan(5000);
    expect(calls).toHaveLength(4); // lists, two detail batches (argv limit), snapshots
    expect(inv.domains).toHaveLength(1000);
    for (const d of inv.domains) domainInventory.parse(d);
    const odd = inv.domains.find((d) => d.uuid === uuidOf(1));
    expect(odd).toMatchObject({ name: ODD_DOMAIN, state: 'paused', persistent: true, autostart: false, vcpus: 1, maxVcpus: 2, memoryMiB: 64, maxMemoryMiB: 128 });
    expect(odd?.snapshots).toEqual([
      expect.objectContaining({ name: ODD_SNAPSHOT, parent: 'snap-a', description: `d ${ODD_SNAPSHOT}`, createdAt: '2026-11-25T19:22:50.000Z', current: true }),
      expect.objectContaining({ name: 'snap-a', current: false }),
    ]);
    expect(inv.domains.filter((d) => d.snapshots.length > 0)).toHaveLength(3);
    const states = new Map<string, number>();
    for (const d of inv.domains) states.set(d.state, (states.get(d.state) ?? 0) + 1);
    expect(Object.fromEntries(states)).toEqual({ running: 334, paused: 333, shutoff: 333 });
    expect(inv.networks).toEqual([expect.objectContaining({ name: 'default', uuid: NET, active: true, bridge: 'virbr0', forward: 'nat' })]);
    expect(inv.pools).toEqual([expect.objectContaining({ name: 'default-pool', active: true, path: '/default-pool', capacityBytes: 107374182400 })]);
  }, 30_000);

  it('leaves out a domain undefined between the list and the batch; virsh runs the rest of the batch', async () => {
    const results: CommandResult[] = [];
    let n = 0;
    // test:///default keeps state per connection, so the undefine goes into the batch itself.
    const inv = await collectInventory(async (c) => {
      const script = c.args[3] ?? '';
      const cmd = ++n === 2 ? { ...c, args: [...c.args.slice(0, 3), `destroy test ; undefine test ; ${script}`] } : c;
      const res = await realRun(cmd);
      results.push(res);
      return res;
    }, 'test:///default');
    expect(results[1]?.stderr).toContain("error: failed to get domain '6695eb01-f6a4-8304-79aa-97f2502e193f'");
    expect(results[1]?.exitCode).toBe(0);
    expect(inv.domains).toEqual([]);
    expect(inv.networks.map((x) => x.name)).toEqual(['default']); // test driver: no leases, not an error
    expect(inv.pools.map((x) => x.name)).toEqual(['default-pool']);
  });

  it('reads test:///default whole, and one domain by name and by UUID', async () => {
    const inv = await collectInventory(realRun, 'test:///default');
    const test = inv.domains[0];
    expect(test).toMatchObject({ name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', state: 'running', reason: 'unknown', persistent: true, autostart: false, virtType: 'test' });
    expect(await readDomain(realRun, 'test:///default', { name: 'test' })).toEqual(test);
    expect(await readDomain(realRun, 'test:///default', { uuid: test?.uuid ?? '' })).toEqual(test);
    expect(await readDomain(realRun, 'test:///default', { name: 'nosuch' })).toBeNull();
    expect(await readDomain(realRun, 'test:///default', { uuid: uuidOf(99) })).toBeNull();
  });

  it('fails loudly, with what virsh said, when it cannot connect', async () => {
    const err = (await collectInventory(realRun, `test://${dir}/missing.xml`).catch((e: unknown) => e)) as VirshInventoryError;
    expect(err).toBeInstanceOf(VirshInventoryError);
    expect(err.exitCode).toBe(1);
    expect(err.argv[3]).toBe(`test://${dir}/missing.xml`);
    expect(err.stderrTail).toContain('failed to connect to the hypervisor');
    await expect(readDomain(realRun, `test://${dir}/missing.xml`, { name: 'test' })).rejects.toThrow(/failed to connect|XML error/);
  });
});
