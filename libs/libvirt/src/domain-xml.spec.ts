import { domainInventory } from '@virtfleet/contracts';
import { childElements, decodeXmlEntities, parseDomainXml, parseXml, scaledToBytes } from './domain-xml';

// Captured from libvirt 9.0 / QEMU 7.2 (qemu:///system, TCG) with `virsh -q dumpxml`.
// Running: vnc autoport, a serial log, boot orders, a cdrom, an interface on a forward-mode=bridge network.
const RUNNING_VFH_A_2 = `<domain type='qemu' id='2'>
  <name>vfh-a-2</name>
  <uuid>b95dbf5c-79c4-47aa-84cf-fa91a685ade3</uuid>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <resource>
    <partition>/machine</partition>
  </resource>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>qemu64</model>
    <feature policy='require' name='hypervisor'/>
    <feature policy='require' name='lahf_lm'/>
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
      <source file='/var/lib/vfh-a/d2.qcow2' index='3'/>
      <backingStore/>
      <target dev='vda' bus='virtio'/>
      <boot order='1'/>
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/vfh-a/data.raw' index='2'/>
      <backingStore/>
      <target dev='sdb' bus='scsi'/>
      <boot order='2'/>
      <alias name='scsi0-0-1'/>
      <address type='drive' controller='0' bus='0' target='0' unit='1'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu'/>
      <target dev='sdc' bus='sata'/>
      <readonly/>
      <alias name='sata0-0-2'/>
      <address type='drive' controller='0' bus='0' target='0' unit='2'/>
    </disk>
    <controller type='usb' index='0' model='ich9-ehci1'>
      <alias name='usb'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x7'/>
    </controller>
    <controller type='usb' index='0' model='ich9-uhci1'>
      <alias name='usb'/>
      <master startport='0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0' multifunction='on'/>
    </controller>
    <controller type='usb' index='0' model='ich9-uhci2'>
      <alias name='usb'/>
      <master startport='2'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x1'/>
    </controller>
    <controller type='usb' index='0' model='ich9-uhci3'>
      <alias name='usb'/>
      <master startport='4'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x2'/>
    </controller>
    <controller type='pci' index='0' model='pci-root'>
      <alias name='pci.0'/>
    </controller>
    <controller type='scsi' index='0' model='lsilogic'>
      <alias name='scsi0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>
    </controller>
    <controller type='sata' index='0'>
      <alias name='sata0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x08' function='0x0'/>
    </controller>
    <interface type='bridge'>
      <mac address='52:54:00:74:06:89'/>
      <source network='vfh-a-br' portid='fb5d6455-3e67-416d-bbb5-705368c16304' bridge='vfhabr0'/>
      <target dev='vnet1'/>
      <model type='e1000'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/1'/>
      <log file='/var/lib/vfh-a/vfh-a-2.log'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
      <alias name='serial0'/>
    </serial>
    <console type='pty' tty='/dev/pts/1'>
      <source path='/dev/pts/1'/>
      <log file='/var/lib/vfh-a/vfh-a-2.log'/>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>
    <input type='mouse' bus='ps2'>
      <alias name='input0'/>
    </input>
    <input type='keyboard' bus='ps2'>
      <alias name='input1'/>
    </input>
    <graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <audio id='1' type='none'/>
    <video>
      <model type='cirrus' vram='16384' heads='1' primary='yes'/>
      <alias name='video0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>
    </video>
    <memballoon model='virtio'>
      <alias name='balloon0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </memballoon>
  </devices>
  <seclabel type='dynamic' model='dac' relabel='yes'>
    <label>+64055:+64055</label>
    <imagelabel>+64055:+64055</imagelabel>
  </seclabel>
</domain>
`;
// The same domain shut off: port -1, currentMemory below memory, current vcpus below the maximum.
const SHUTOFF_VFH_A_2 = `<domain type='qemu'>
  <name>vfh-a-2</name>
  <uuid>b95dbf5c-79c4-47aa-84cf-fa91a685ade3</uuid>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>98304</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
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
      <source file='/var/lib/vfh-a/d2.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <boot order='1'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/vfh-a/data.raw'/>
      <target dev='sdb' bus='scsi'/>
      <boot order='2'/>
      <address type='drive' controller='0' bus='0' target='0' unit='1'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sdc' bus='sata'/>
      <readonly/>
      <address type='drive' controller='0' bus='0' target='0' unit='2'/>
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
    <controller type='scsi' index='0' model='lsilogic'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>
    </controller>
    <controller type='sata' index='0'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x08' function='0x0'/>
    </controller>
    <interface type='network'>
      <mac address='52:54:00:74:06:89'/>
      <source network='vfh-a-br'/>
      <model type='e1000'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </interface>
    <serial type='pty'>
      <log file='/var/lib/vfh-a/vfh-a-2.log'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
    </serial>
    <console type='pty'>
      <log file='/var/lib/vfh-a/vfh-a-2.log'/>
      <target type='serial' port='0'/>
    </console>
    <input type='mouse' bus='ps2'/>
    <input type='keyboard' bus='ps2'/>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <audio id='1' type='none'/>
    <video>
      <model type='cirrus' vram='16384' heads='1' primary='yes'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>
    </video>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </memballoon>
  </devices>
</domain>
`;
// A running domain as virt-install made it (no graphics, no serial log).
const RUNNING_VFH_A_1 = `<domain type='qemu' id='1'>
  <name>vfh-a-1</name>
  <uuid>516a7bb7-1486-489f-99bf-a637cc13eb81</uuid>
  <memory unit='KiB'>65536</memory>
  <currentMemory unit='KiB'>65536</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <resource>
    <partition>/machine</partition>
  </resource>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>qemu64</model>
    <feature policy='require' name='hypervisor'/>
    <feature policy='require' name='lahf_lm'/>
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
      <source file='/var/lib/vfh-a/d1.qcow2' index='1'/>
      <backingStore/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <controller type='usb' index='0' model='ich9-ehci1'>
      <alias name='usb'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x7'/>
    </controller>
    <controller type='usb' index='0' model='ich9-uhci1'>
      <alias name='usb'/>
      <master startport='0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0' multifunction='on'/>
    </controller>
    <controller type='usb' index='0' model='ich9-uhci2'>
      <alias name='usb'/>
      <master startport='2'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x1'/>
    </controller>
    <controller type='usb' index='0' model='ich9-uhci3'>
      <alias name='usb'/>
      <master startport='4'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x2'/>
    </controller>
    <controller type='pci' index='0' model='pci-root'>
      <alias name='pci.0'/>
    </controller>
    <interface type='bridge'>
      <mac address='52:54:00:a2:d9:26'/>
      <source network='vfh-a-br' portid='30524324-4fbd-4531-b9ca-bfc9a8333a55' bridge='vfhabr0'/>
      <target dev='vnet0'/>
      <model type='e1000'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/0'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
      <alias name='serial0'/>
    </serial>
    <console type='pty' tty='/dev/pts/0'>
      <source path='/dev/pts/0'/>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>
    <input type='mouse' bus='ps2'>
      <alias name='input0'/>
    </input>
    <input type='keyboard' bus='ps2'>
      <alias name='input1'/>
    </input>
    <audio id='1' type='none'/>
    <memballoon model='virtio'>
      <alias name='balloon0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </memballoon>
  </devices>
  <seclabel type='dynamic' model='dac' relabel='yes'>
    <label>+64055:+64055</label>
    <imagelabel>+64055:+64055</imagelabel>
  </seclabel>
</domain>
`;
// Defined by hand: a name with quotes and a colon (libvirt writes &apos; and &quot;).
const WEIRD_NAME = `<domain type='qemu'>
  <name>vfh-a-q&apos;uo&quot;te: x</name>
  <uuid>1fde7659-b1fd-460a-a6ec-2d7ee2a1dbd0</uuid>
  <memory unit='KiB'>32768</memory>
  <currentMemory unit='KiB'>32768</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>qemu64</model>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' index='0' model='piix3-uhci'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>
    </controller>
    <controller type='pci' index='0' model='pci-root'/>
    <input type='mouse' bus='ps2'/>
    <input type='keyboard' bus='ps2'/>
    <graphics type='vnc' port='-1' autoport='yes' listen='0.0.0.0'>
      <listen type='address' address='0.0.0.0'/>
    </graphics>
    <audio id='1' type='none'/>
    <video>
      <model type='cirrus' vram='16384' heads='1' primary='yes'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </video>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </memballoon>
  </devices>
</domain>
`;

const STATE = { state: 'running' as const, persistent: true, autostart: false, snapshots: [] };

describe('parseDomainXml on real libvirt output', () => {
  it('reads a running domain', () => {
    const facts = parseDomainXml(RUNNING_VFH_A_2);
    expect(facts).toEqual({
      uuid: 'b95dbf5c-79c4-47aa-84cf-fa91a685ade3',
      name: 'vfh-a-2',
      vcpus: 1,
      maxVcpus: 2,
      memoryMiB: 128, // while it runs, the balloon reports the full 128 MiB
      maxMemoryMiB: 128,
      virtType: 'qemu',
      osType: 'hvm',
      disks: [
        { target: 'vda', device: 'disk', bus: 'virtio', type: 'file', source: '/var/lib/vfh-a/d2.qcow2', format: 'qcow2', readonly: false, bootOrder: 1 },
        { target: 'sdb', device: 'disk', bus: 'scsi', type: 'file', source: '/var/lib/vfh-a/data.raw', format: 'raw', readonly: false, bootOrder: 2 },
        { target: 'sdc', device: 'cdrom', bus: 'sata', type: 'file', readonly: true }, // empty: live XML drops its <driver>
      ],
      interfaces: [
        { type: 'network', mac: '52:54:00:74:06:89', network: 'vfh-a-br', bridge: 'vfhabr0', model: 'e1000', target: 'vnet1' },
      ],
      graphics: [{ type: 'vnc', listen: '127.0.0.1', port: 5900, autoport: true }],
      serialLog: '/var/lib/vfh-a/vfh-a-2.log',
      xml: RUNNING_VFH_A_2,
    });
    expect(domainInventory.parse({ ...facts, ...STATE })).toMatchObject({ name: 'vfh-a-2' });
  });

  it('reads the same domain shut off: no port yet, current memory and vCPUs below the maximum', () => {
    const facts = parseDomainXml(SHUTOFF_VFH_A_2);
    expect(facts).toMatchObject({ vcpus: 1, maxVcpus: 2, memoryMiB: 96, maxMemoryMiB: 128 });
    expect(facts.graphics).toEqual([{ type: 'vnc', listen: '127.0.0.1', autoport: true }]);
    expect(facts.interfaces).toEqual([{ type: 'network', mac: '52:54:00:74:06:89', network: 'vfh-a-br', model: 'e1000' }]);
    expect(domainInventory.parse({ ...facts, ...STATE, state: 'shutoff' }).serialLog).toBe('/var/lib/vfh-a/vfh-a-2.log');
  });

  it("reports a network interface as type network although live XML says bridge", () => {
    expect(RUNNING_VFH_A_1).toContain("<interface type='bridge'>");
    const facts = parseDomainXml(RUNNING_VFH_A_1);
    expect(facts.interfaces).toEqual([
      { type: 'network', mac: '52:54:00:a2:d9:26', network: 'vfh-a-br', bridge: 'vfhabr0', model: 'e1000', target: 'vnet0' },
    ]);
    expect(facts).toMatchObject({ vcpus: 1, maxVcpus: 1, memoryMiB: 64, maxMemoryMiB: 64, graphics: [] });
    expect(facts.serialLog).toBeUndefined();
    expect(facts.disks).toHaveLength(1);
  });

  it('decodes entities in names (quotes and a colon)', () => {
    const facts = parseDomainXml(WEIRD_NAME);
    expect(facts.name).toBe(`vfh-a-q'uo"te: x`);
    expect(facts.disks).toEqual([]);
    expect(facts.graphics).toEqual([{ type: 'vnc', listen: '0.0.0.0', autoport: true }]);
  });
});

const minimal = (inner: string, attrs = "type='kvm'") =>
  `<domain ${attrs}><name>m</name><uuid>0b0e2a6c-8d0e-4c55-9d3c-2f4bb6a2f6a1</uuid>${inner}</domain>`;

describe('parseDomainXml details', () => {
  it.each([
    ["<memory unit='GiB'>2</memory>", 2048],
    ["<memory unit='M'>300</memory>", 300],
    ["<memory unit='bytes'>1073741824</memory>", 1024],
    ["<memory>262144</memory>", 256], // KiB by default
    ["<memory unit='KB'>1048576</memory>", 1000], // KB is 1000 bytes
    ["<memory unit='MB'>1000</memory>", 953],
  ])('%s → %i MiB', (xml, mib) => {
    expect(parseDomainXml(minimal(xml))).toMatchObject({ maxMemoryMiB: mib, memoryMiB: mib });
  });

  it('takes currentMemory in its own unit', () => {
    expect(parseDomainXml(minimal("<memory unit='GiB'>1</memory><currentMemory unit='MiB'>512</currentMemory>"))).toMatchObject({
      maxMemoryMiB: 1024,
      memoryMiB: 512,
    });
  });

  it('fills defaults for a bare domain', () => {
    const facts = parseDomainXml(minimal(''));
    expect(facts).toMatchObject({ vcpus: 1, maxVcpus: 1, memoryMiB: 0, maxMemoryMiB: 0, virtType: 'kvm', disks: [], interfaces: [], graphics: [] });
    expect(facts.osType).toBeUndefined();
  });

  it('reads vcpus from the text when there is no current attribute', () => {
    expect(parseDomainXml(minimal('<vcpu>4</vcpu>'))).toMatchObject({ vcpus: 4, maxVcpus: 4 });
  });

  it('reads disks of other types and a single disk the same as many', () => {
    const disks = parseDomainXml(
      minimal(`<devices>
        <disk type='block' device='lun'><source dev='/dev/sdz'/><target dev='sda' bus='scsi'/><readonly/></disk>
        <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='store' volume='v1.qcow2'/><target dev='vdb'/></disk>
        <disk type='network' device='disk'><source protocol='rbd' name='pool/image'><host name='mon1'/></source><target dev='vdc' bus='virtio'/></disk>
      </devices>`),
    ).disks;
    expect(disks).toEqual([
      { target: 'sda', device: 'lun', bus: 'scsi', type: 'block', source: '/dev/sdz', readonly: true },
      { target: 'vdb', device: 'disk', type: 'volume', source: 'v1.qcow2', format: 'qcow2', readonly: false },
      { target: 'vdc', device: 'disk', bus: 'virtio', type: 'network', source: 'pool/image', readonly: false },
    ]);
    expect(parseDomainXml(minimal("<devices><disk type='file'><target dev='vda'/></disk></devices>")).disks).toEqual([
      { target: 'vda', device: 'disk', type: 'file', readonly: false },
    ]);
  });

  it('reads bridge, direct and virtualport interfaces', () => {
    const ifaces = parseDomainXml(
      minimal(`<devices>
        <interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br0'/><virtualport type='openvswitch'/><model type='virtio'/></interface>
        <interface type='direct'><source dev='eth0' mode='bridge'/></interface>
      </devices>`),
    ).interfaces;
    expect(ifaces).toEqual([
      { type: 'bridge', mac: '52:54:00:00:00:01', bridge: 'br0', model: 'virtio', virtualport: 'openvswitch' },
      { type: 'direct' },
    ]);
  });

  it('finds the serial log on a console when the serial has none', () => {
    const xml = minimal("<devices><serial type='pty'/><console type='pty'><log file='/logs/c.log' append='on'/></console></devices>");
    expect(parseDomainXml(xml).serialLog).toBe('/logs/c.log');
  });

  it('reads graphics with a listen element only, and a fixed port', () => {
    const xml = minimal("<devices><graphics type='spice' port='5901' autoport='no'><listen type='address' address='::1'/></graphics></devices>");
    expect(parseDomainXml(xml).graphics).toEqual([{ type: 'spice', listen: '::1', port: 5901, autoport: false }]);
  });

  it('refuses what is not a libvirt domain', () => {
    expect(() => parseDomainXml('<network><name>n</name></network>')).toThrow(/expected a <domain>/);
    expect(() => parseDomainXml('<domain><name>x</name></domain>')).toThrow(/without a name or a UUID/);
    expect(() => parseDomainXml('not xml')).toThrow(/not well-formed/);
    expect(() => parseDomainXml('<!DOCTYPE d [<!ENTITY e "boom">]><domain><name>&e;</name></domain>')).toThrow(/DOCTYPE/);
  });
});

describe('parseXml', () => {
  it('decodes predefined and numeric references once, never an undeclared entity', () => {
    const el = parseXml(`<a b="x &amp;lt; &#39;&#x41;&quot;">&lt;t&gt; &amp;amp; &unknown; &#x1F600;</a>`);
    expect(el.attrs['b']).toBe(`x &lt; 'A"`);
    expect(el.text).toBe('<t> &amp; &unknown; 😀');
    expect(decodeXmlEntities('&#1114112;')).toBe('&#1114112;'); // past U+10FFFF
  });

  it('keeps child order, attributes, and the text directly inside', () => {
    const el = parseXml('<r><c n="1"/>  hello <c n="2">in</c></r>');
    expect(el.children.map((c) => c.attrs['n'])).toEqual(['1', '2']);
    expect(el.text).toBe('hello');
    expect(childElements(el, 'c')[1]?.text).toBe('in');
  });

  it('skips the XML declaration, comments and processing instructions', () => {
    const el = parseXml(`<?xml version='1.0' encoding='UTF-8'?>\n<!-- made by hand --><?pi x?><domain type='kvm'><name>n</name></domain>`);
    expect(el.name).toBe('domain');
    expect(childElements(el, 'name')[0]?.text).toBe('n');
  });

  it('wants exactly one root', () => {
    expect(() => parseXml('<a/><b/>')).toThrow(/exactly one root/);
    expect(() => parseXml('')).toThrow();
  });

  it('scales libvirt integers', () => {
    expect(scaledToBytes('2', 'GiB')).toBe(2 * 1024 ** 3);
    expect(scaledToBytes('7', undefined, 'bytes')).toBe(7);
    expect(scaledToBytes('7', 'parsecs')).toBeUndefined();
    expect(scaledToBytes('-1', 'KiB')).toBeUndefined();
  });
});
