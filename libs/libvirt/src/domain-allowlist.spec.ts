import { checkDomainXmlAllowlist, pathProblem } from './domain-allowlist';

// Captured from libvirt 9.0 (qemu:///system) with `virsh -q dumpxml` of shut-off domains.
// As virt-install and virt-xml left it: disks, a cdrom, a serial log, vnc on 127.0.0.1.
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
// Defined by hand: vnc on 0.0.0.0 without a passwd.
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

const ROOTS = { roots: ['/var/lib/vfh-a'] };
const UUID = '0b0e2a6c-8d0e-4c55-9d3c-2f4bb6a2f6a1';
const dom = (inner: string, root = "<domain type='kvm'>") => `${root}<name>vm1</name><uuid>${UUID}</uuid>${inner}</domain>`;
const violations = (inner: string, roots = ['/kvm/store', '/kvm/iso/']) => checkDomainXmlAllowlist(dom(inner), { roots }).violations;

describe('checkDomainXmlAllowlist on real libvirt XML', () => {
  it('lets a real domain through once its <emulator> is gone', () => {
    const real = checkDomainXmlAllowlist(SHUTOFF_VFH_A_2, ROOTS);
    expect(real).toEqual({
      name: 'vfh-a-2',
      uuid: 'b95dbf5c-79c4-47aa-84cf-fa91a685ade3',
      violations: ['domain/devices/emulator: the emulator is the host’s choice, not the client’s'],
    });
    const clean = SHUTOFF_VFH_A_2.replace(/\s*<emulator>.*<\/emulator>/, '');
    expect(checkDomainXmlAllowlist(clean, ROOTS).violations).toEqual([]);
  });

  it('refuses the same domain when its files are outside the roots', () => {
    const clean = SHUTOFF_VFH_A_2.replace(/\s*<emulator>.*<\/emulator>/, '');
    expect(checkDomainXmlAllowlist(clean, { roots: ['/kvm/store'] }).violations).toEqual([
      "domain/devices/disk/source@file '/var/lib/vfh-a/d2.qcow2' is outside the storage roots",
      "domain/devices/disk/source@file '/var/lib/vfh-a/data.raw' is outside the storage roots",
      "domain/devices/serial/log@file '/var/lib/vfh-a/vfh-a-2.log' is outside the storage roots",
      "domain/devices/console/log@file '/var/lib/vfh-a/vfh-a-2.log' is outside the storage roots",
    ]);
  });

  it('refuses vnc on all addresses without a passwd, and reads a name with quotes', () => {
    const res = checkDomainXmlAllowlist(WEIRD_NAME.replace(/\s*<emulator>.*<\/emulator>/, ''), ROOTS);
    expect(res.name).toBe(`vfh-a-q'uo"te: x`);
    expect(res.violations).toEqual(["domain/devices/graphics: <graphics type='vnc'> listens on all addresses without a passwd"]);
  });
});

describe('checkDomainXmlAllowlist', () => {
  it('accepts a plain domain', () => {
    const xml = `<devices>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/kvm/store/vm1/root.qcow2'/><target dev='vda' bus='virtio'/></disk>
      <disk type='file' device='cdrom'><source file='/kvm/iso/debian.iso'/><target dev='sda' bus='sata'/><readonly/></disk>
      <interface type='network'><source network='default'/><model type='virtio'/></interface>
      <interface type='bridge'><source bridge='br0'/></interface>
      <serial type='pty'><source path='/dev/pts/3'/><log file='/kvm/store/vm1/console.log'/></serial>
      <console type='pty' tty='/dev/pts/3'><target type='serial' port='0'/></console>
      <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>
      <graphics type='spice' listen='0.0.0.0' passwd='s3cret'/>
      <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    </devices>
    <os firmware='efi'><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
    <seclabel type='dynamic' model='dac' relabel='yes'><label>+64055:+64055</label></seclabel>
    <metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"><libosinfo:os id="http://debian.org/debian/12"/></libosinfo:libosinfo></metadata>`;
    expect(violations(xml)).toEqual([]);
  });

  it.each([
    ['<!DOCTYPE domain>'],
    ['<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/shadow">]>'],
    ['<!ENTITY x "y">'],
  ])('refuses a declaration: %s', (decl) => {
    expect(checkDomainXmlAllowlist(`${decl}${dom('')}`, { roots: ['/kvm'] })).toEqual({
      name: '',
      violations: ['XML with a DOCTYPE or ENTITY declaration is refused'],
    });
  });

  it('turns input that is not a domain into a violation, never a throw', () => {
    expect(checkDomainXmlAllowlist('{"name":"vm1"}', ROOTS).violations[0]).toMatch(/not well-formed XML/);
    expect(checkDomainXmlAllowlist('<domain><name>x</domain>', ROOTS).violations[0]).toMatch(/not well-formed XML/);
    expect(checkDomainXmlAllowlist('', ROOTS).violations).toHaveLength(1);
    expect(checkDomainXmlAllowlist('<network><name>n</name></network>', ROOTS).violations).toEqual(['the root element is <network>, not <domain>']);
  });

  it('wants a name', () => {
    expect(checkDomainXmlAllowlist(`<domain type='kvm'><uuid>${UUID}</uuid></domain>`, ROOTS)).toEqual({
      name: '',
      uuid: UUID,
      violations: ['the domain has no <name>'],
    });
  });

  it('refuses the QEMU namespace however it is spelled', () => {
    const ns = 'http://libvirt.org/schemas/domain/qemu/1.0';
    expect(checkDomainXmlAllowlist(dom(`<qemu:commandline><qemu:arg value='-no-reboot'/></qemu:commandline>`, `<domain type='kvm' xmlns:qemu='${ns}'>`), ROOTS).violations).toEqual([
      'domain: the QEMU namespace (xmlns:qemu) is not allowed',
      'domain/qemu:commandline: namespaced elements are only allowed inside <metadata>',
      'domain/qemu:commandline/qemu:arg: namespaced elements are only allowed inside <metadata>',
    ]);
    expect(violations(`<x:override xmlns:x='${ns}'/>`)).toHaveLength(2);
    // a default namespace puts an unprefixed element into it: libvirt's XPath would still find it
    expect(violations(`<commandline xmlns='${ns}'><arg value='-S'/></commandline>`)).toEqual([
      'domain/commandline: the QEMU namespace (xmlns) is not allowed',
    ]);
    expect(violations(`<metadata><qemu:commandline xmlns:qemu='${ns}'/></metadata>`)).toEqual([
      'domain/metadata/qemu:commandline: the QEMU namespace (xmlns:qemu) is not allowed',
    ]);
  });

  it.each([
    ["<devices><hostdev mode='subsystem' type='pci'><source><address bus='0x01'/></source></hostdev></devices>", 'domain/devices/hostdev: host device passthrough is not allowed'],
    ['<devices><emulator>/tmp/evil</emulator></devices>', 'domain/devices/emulator: the emulator is the host’s choice, not the client’s'],
    ["<devices><filesystem type='mount'><source dir='/kvm/store/x'/><target dir='share'/></filesystem></devices>", 'domain/devices/filesystem: sharing host directories is not allowed'],
    ["<seclabel type='none'/>", "domain/seclabel: <seclabel type='none'> turns confinement off"],
    ["<seclabel type='static' model='dac'><label>0:0</label></seclabel>", "domain/seclabel: <seclabel type='static'> sets a label of the client’s choosing"],
    ["<seclabel type='dynamic' model='selinux' relabel='no'/>", "domain/seclabel: <seclabel relabel='no'> is not allowed"],
    ["<seclabel type='dynamic' model='selinux'><baselabel>system_u:system_r:unconfined_t:s0</baselabel></seclabel>", 'domain/seclabel: <seclabel> with a <baselabel> is not allowed'],
    ["<devices><disk type='file'><source file='/kvm/store/a.img'><seclabel model='dac'><label>0:0</label></seclabel></source><target dev='vda'/></disk></devices>", 'domain/devices/disk/source/seclabel: <seclabel> with a <label> is not allowed'],
    ["<devices><disk type='block'><source dev='/kvm/store/dev'/><target dev='vda'/></disk></devices>", "domain/devices/disk: <disk type='block'> is not allowed, only file disks"],
    ["<devices><disk type='network'><source protocol='nbd' name='x'><host name='h'/></source><target dev='vda'/></disk></devices>", "domain/devices/disk: <disk type='network'> is not allowed, only file disks"],
    ["<devices><disk type='volume'><source pool='default' volume='v'/><target dev='vda'/></disk></devices>", "domain/devices/disk: <disk type='volume'> is not allowed, only file disks"],
    ["<devices><interface type='direct'><source dev='eth0' mode='bridge'/></interface></devices>", "domain/devices/interface: <interface type='direct'> is not allowed"],
    ["<devices><interface type='hostdev'><source><address type='pci' bus='0x02'/></source></interface></devices>", "domain/devices/interface: <interface type='hostdev'> is not allowed"],
    ["<devices><interface type='ethernet'><target dev='tap0' managed='no'/></interface></devices>", "domain/devices/interface: <interface type='ethernet'> is not allowed"],
    ["<devices><interface type='bridge'><source bridge='br0'/><script path='/kvm/store/up.sh'/></interface></devices>", 'domain/devices/interface/script: host scripts are not allowed'],
    ["<devices><interface type='user'><backend type='passt'/><portForward proto='tcp'><range start='2222' to='22'/></portForward></interface></devices>", 'domain/devices/interface/portForward: forwarding host ports is not allowed'],
    ["<devices><serial type='tcp'><source mode='bind' host='0.0.0.0' service='4555'/></serial></devices>", 'domain/devices/serial: a tcp character device opens a host socket'],
    ["<devices><graphics type='vnc' listen='::'/></devices>", "domain/devices/graphics: <graphics type='vnc'> listens on all addresses without a passwd"],
    ["<devices><graphics type='vnc'><listen type='address' address='0.0.0.0'/></graphics></devices>", "domain/devices/graphics: <graphics type='vnc'> listens on all addresses without a passwd"],
    ["<devices><graphics type='vnc' listen='0.0.0.0' passwd=''/></devices>", "domain/devices/graphics: <graphics type='vnc'> listens on all addresses without a passwd"],
    ["<devices><rng model='virtio'><backend model='random'>/dev/hwrng</backend></rng></devices>", "domain/devices/rng/backend '/dev/hwrng' is not an allowed entropy source (/dev/urandom, /dev/random)"],
  ])('refuses %s', (inner, message) => {
    expect(violations(inner)).toContain(message);
  });

  it.each([
    ['/etc/shadow', 'is outside the storage roots'],
    ['/kvm/store/../../etc/shadow', 'is not a normalised path'],
    ['/kvm/store/./a.qcow2', 'is not a normalised path'],
    ['/kvm/store//a.qcow2', 'is not a normalised path'],
    ['/kvm/storeroom/a.qcow2', 'is outside the storage roots'],
    ['/kvm/store', 'is outside the storage roots'],
    ['kvm/store/a.qcow2', 'is not an absolute path'],
    ['', 'is not an absolute path'],
  ])('refuses the disk path %j', (path, why) => {
    expect(violations(`<devices><disk type='file'><source file='${path}'/><target dev='vda'/></disk></devices>`)).toEqual([
      `domain/devices/disk/source@file '${path}' ${why}`,
    ]);
  });

  it('checks every kind of host path', () => {
    const out = violations(`
      <os><type>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>
        <nvram template='/usr/share/OVMF/OVMF_VARS.fd'>/var/lib/libvirt/qemu/nvram/vm1_VARS.fd</nvram>
        <kernel>/boot/vmlinuz</kernel><initrd>/kvm/store/ok.img</initrd><dtb>/x.dtb</dtb>
        <acpi><table type='slic'>/etc/slic.bin</table></acpi></os>
      <devices>
        <disk type='file'><source file='/kvm/store/top.qcow2'/><backingStore type='file'><format type='qcow2'/><source file='/etc/base.qcow2'/></backingStore><target dev='vda'/></disk>
        <serial type='file'><source path='/root/.ssh/authorized_keys'/></serial>
        <channel type='unix'><source mode='bind' path='/run/evil.sock'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
        <serial type='dev'><source path='/dev/ttyS0'/></serial>
        <input type='passthrough' bus='virtio'><source evdev='/dev/input/event0'/></input>
        <graphics type='vnc' socket='/tmp/vnc.sock'/>
        <tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>
        <interface type='network'><source network='default'/><backend tap='/dev/net/tun' vhost='/dev/vhost-net'/></interface>
        <memory model='nvdimm'><source><path>/dev/pmem0</path></source><target><size unit='KiB'>524288</size></target></memory>
      </devices>`);
    expect(out).toEqual([
      "domain/os/loader '/usr/share/OVMF/OVMF_CODE.fd' is outside the storage roots",
      "domain/os/nvram@template '/usr/share/OVMF/OVMF_VARS.fd' is outside the storage roots",
      "domain/os/nvram '/var/lib/libvirt/qemu/nvram/vm1_VARS.fd' is outside the storage roots",
      "domain/os/kernel '/boot/vmlinuz' is outside the storage roots",
      "domain/os/dtb '/x.dtb' is outside the storage roots",
      "domain/os/acpi/table '/etc/slic.bin' is outside the storage roots",
      "domain/devices/disk/backingStore/source@file '/etc/base.qcow2' is outside the storage roots",
      "domain/devices/serial/source@path '/root/.ssh/authorized_keys' is outside the storage roots",
      "domain/devices/channel/source@path '/run/evil.sock' is outside the storage roots",
      "domain/devices/serial/source@path '/dev/ttyS0' is outside the storage roots",
      "domain/devices/input/source@evdev '/dev/input/event0' is outside the storage roots",
      "domain/devices/graphics@socket '/tmp/vnc.sock' is outside the storage roots",
      "domain/devices/tpm/backend/device@path '/dev/tpm0' is outside the storage roots",
      "domain/devices/interface/backend@tap '/dev/net/tun' is outside the storage roots",
      "domain/devices/interface/backend@vhost '/dev/vhost-net' is outside the storage roots",
      "domain/devices/memory/source/path '/dev/pmem0' is outside the storage roots",
    ]);
  });

  it('does not take guest device names for host paths', () => {
    expect(violations("<os><boot dev='hd'/></os><devices><disk type='file'><target dev='vda'/><boot order='1'/></disk></devices>")).toEqual([]);
  });

  it('refuses every path when there are no roots, and ignores roots that are not absolute', () => {
    const disk = "<devices><disk type='file'><source file='/kvm/store/a.qcow2'/><target dev='vda'/></disk></devices>";
    expect(violations(disk, [])).toHaveLength(1);
    expect(violations(disk, ['kvm/store'])).toHaveLength(1);
    expect(violations(disk, ['/kvm/store/'])).toEqual([]);
  });
});

describe('pathProblem', () => {
  it('accepts only paths strictly inside a root', () => {
    expect(pathProblem('/a/b', ['/a'])).toBeUndefined();
    expect(pathProblem('/a/b', ['/'])).toBeUndefined();
    expect(pathProblem('/a', ['/a'])).toBe('is outside the storage roots');
    expect(pathProblem('/a/b\0', ['/a'])).toBe('holds a NUL byte');
  });
});
