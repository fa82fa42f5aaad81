import { CloneXmlError, cloneDomainXml, type CloneXmlOptions } from './clone-xml';
import { parseDomainXml } from './domain-xml';

const OLD_UUID = '6f1c3a52-8d0e-4b7a-9a53-1f2e3d4c5b6a';
const NEW_UUID = 'd3b07384-d113-4ec6-a7c3-6c1e8a2f9b10';

// As `virsh dumpxml --inactive --security-info` writes a virt-install'ed q35 guest (libvirt 9.0),
// plus a backing chain, an SMBIOS UUID, a fixed VNC port and a console log.
const SOURCE = `<domain type='kvm'>
  <name>web-1</name>
  <uuid>${OLD_UUID}</uuid>
  <genid>8e3c2a4b-5d6f-4e7a-8b9c-0d1e2f3a4b5c</genid>
  <title>Bob&apos;s web server</title>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/12"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <sysinfo type='smbios'>
    <system>
      <entry name='manufacturer'>Virtfleet</entry>
      <entry name='uuid'>${OLD_UUID}</entry>
    </system>
  </sysinfo>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <smbios mode='sysinfo'/>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='host-passthrough' check='none' migratable='on'/>
  <clock offset='utc'>
    <timer name='rtc' tickpolicy='catchup'/>
    <timer name='pit' tickpolicy='delay'/>
    <timer name='hpet' present='no'/>
  </clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='/var/lib/libvirt/images/web-1.qcow2'/>
      <backingStore type='file'>
        <format type='qcow2'/>
        <source file='/var/lib/libvirt/images/debian-12-base.qcow2'/>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
      <serial>WEB1-ROOT</serial>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/libvirt/iso/debian-12.5.0-amd64-netinst.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    <controller type='sata' index='0'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>
    </controller>
    <interface type='network'>
      <mac address='52:54:00:6b:3c:01'/>
      <source network='default'/>
      <model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:6b:3c:02'/>
      <source bridge='br0'/>
      <model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
    </interface>
    <serial type='pty'>
      <log file='/var/log/virtfleet/console/OLD.log' append='on'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
    </serial>
    <console type='pty'>
      <log file='/var/log/virtfleet/console/OLD.log' append='on'/>
      <target type='serial' port='0'/>
    </console>
    <graphics type='vnc' port='5901' autoport='no' listen='127.0.0.1' passwd='s3cr&amp;t'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <video>
      <model type='virtio' heads='1' primary='yes'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </video>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>
    </memballoon>
  </devices>
</domain>
`;

const OPTS: CloneXmlOptions = {
  name: 'web-1-clone',
  uuid: NEW_UUID,
  macs: ['52:54:00:aa:00:01', '52:54:00:aa:00:02'],
  disks: { vda: '/var/lib/libvirt/images/web-1-clone.qcow2' },
  serialLogPath: '/var/log/virtfleet/console/NEW.log',
};

const minimal = (inner: string) => `<domain type='kvm'><name>m</name><uuid>${OLD_UUID}</uuid>${inner}</domain>`;

describe('cloneDomainXml', () => {
  it('changes only what makes the clone a different domain', () => {
    const { xml, warnings } = cloneDomainXml(SOURCE, OPTS);
    const expected = SOURCE.replaceAll(OLD_UUID, NEW_UUID)
      .replace('<name>web-1</name>', '<name>web-1-clone</name>')
      .replace(/<genid>.*<\/genid>/, '<genid/>')
      .replace('52:54:00:6b:3c:01', '52:54:00:aa:00:01')
      .replace('52:54:00:6b:3c:02', '52:54:00:aa:00:02')
      .replace('/images/web-1.qcow2', '/images/web-1-clone.qcow2')
      .replace(/\n {6}<backingStore type='file'>[^]*?\n {6}<\/backingStore>/, '')
      .replaceAll('console/OLD.log', 'console/NEW.log')
      .replace("port='5901' autoport='no'", "autoport='yes'");
    // The builder writes every attribute in double quotes; nothing else differs, escapes included.
    expect(xml).toBe(expected.replaceAll("'", '"'));
    expect(xml).toContain('<title>Bob&apos;s web server</title>');
    expect(xml).toContain('passwd="s3cr&amp;t"');
    expect(xml).toContain('<libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">');
    expect(warnings).toEqual(["vnc port 5901 was fixed, the clone's is automatic (two domains cannot listen on one port)"]);

    const facts = parseDomainXml(xml);
    expect(facts).toMatchObject({ name: 'web-1-clone', uuid: NEW_UUID, serialLog: '/var/log/virtfleet/console/NEW.log' });
    expect(facts.interfaces.map((i) => i.mac)).toEqual(OPTS.macs);
    expect(facts.disks.map((d) => [d.target, d.source])).toEqual([
      ['vda', '/var/lib/libvirt/images/web-1-clone.qcow2'],
      ['sda', '/var/lib/libvirt/iso/debian-12.5.0-amd64-netinst.iso'], // not listed: shared
    ]);
    expect(facts.graphics).toEqual([{ type: 'vnc', listen: '127.0.0.1', autoport: true }]);
  });

  it('is deterministic', () => {
    expect(cloneDomainXml(SOURCE, OPTS)).toEqual(cloneDomainXml(SOURCE, OPTS));
  });

  it('escapes the values it sets', () => {
    const { xml } = cloneDomainXml(SOURCE, { ...OPTS, name: `a&b <"c'>`, disks: { vda: "/srv/it's & <x>.qcow2" } });
    expect(xml).toContain('<name>a&amp;b &lt;&quot;c&apos;&gt;</name>');
    const facts = parseDomainXml(xml);
    expect(facts.name).toBe(`a&b <"c'>`);
    expect(facts.disks[0]?.source).toBe("/srv/it's & <x>.qcow2");
  });

  it('adds a missing <uuid> after <name> and a missing <mac> first in its interface, indented like their neighbours', () => {
    const source = "<domain type='kvm'>\n  <name>m</name>\n  <devices>\n    <interface type='user'>\n      <model type='virtio'/>\n    </interface>\n  </devices>\n</domain>";
    const { xml } = cloneDomainXml(source, { ...OPTS, macs: ['52:54:00:aa:00:09'], disks: {} });
    expect(xml).toBe(
      `<domain type="kvm">\n  <name>web-1-clone</name>\n  <uuid>${NEW_UUID}</uuid>\n  <devices>\n    <interface type="user">\n` +
        '      <mac address="52:54:00:aa:00:09"/>\n      <model type="virtio"/>\n    </interface>\n  </devices>\n</domain>',
    );
    expect(cloneDomainXml(minimal("<devices><interface type='user'/></devices>"), { ...OPTS, macs: ['52:54:00:aa:00:09'], disks: {} }).xml).toContain(
      '<interface type="user"><mac address="52:54:00:aa:00:09"/></interface>',
    );
  });

  it('empties the NVRAM path and warns about UEFI variables and emulated TPM state', () => {
    const source = minimal(
      "<os firmware='efi'><type>hvm</type><nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/m_VARS.fd</nvram></os>" +
        "<devices><tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm></devices>",
    );
    const { xml, warnings } = cloneDomainXml(source, { ...OPTS, macs: [], disks: {} });
    expect(xml).toContain('<nvram template="/usr/share/OVMF/OVMF_VARS_4M.fd"/>');
    expect(warnings).toEqual(['UEFI variables start from the template', 'TPM state starts empty (swtpm keeps it per domain UUID)']);
    const passthrough = minimal("<devices><tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm></devices>");
    expect(cloneDomainXml(passthrough, { ...OPTS, macs: [], disks: {} }).warnings).toEqual([]);
  });

  it('keeps comments and CDATA, drops the XML declaration and processing instructions', () => {
    const metadata = '<metadata><my:app xmlns:my="urn:my"><!-- by hand --><?pi x?><![CDATA[a < b && c]]></my:app></metadata>';
    const source = `<?xml version="1.0" encoding="UTF-8"?>\n${minimal(metadata)}`;
    expect(cloneDomainXml(source, { ...OPTS, macs: [], disks: {} }).xml).toBe(
      `<domain type="kvm"><name>web-1-clone</name><uuid>${NEW_UUID}</uuid>` +
        '<metadata><my:app xmlns:my="urn:my"><!-- by hand --><![CDATA[a < b && c]]></my:app></metadata></domain>',
    );
  });

  it('leaves the serial log alone when there is none, and needs no serialLogPath then', () => {
    const source = minimal("<devices><serial type='pty'><target port='0'/></serial></devices>");
    const { xml } = cloneDomainXml(source, { name: 'n', uuid: NEW_UUID, macs: [], disks: {} });
    expect(parseDomainXml(xml).serialLog).toBeUndefined();
  });

  it.each([
    ['a DOCTYPE', '<!DOCTYPE d [<!ENTITY e "boom">]><domain><name>&e;</name></domain>', {}, /DOCTYPE/],
    ['malformed XML', '<domain><name>m</domain>', {}, /not well-formed/],
    ['another root', "<network><name>n</name></network>", {}, /expected a <domain> document, got <network>/],
    ['a domain without a name', `<domain><uuid>${OLD_UUID}</uuid></domain>`, {}, /without a <name>/],
    ['too few MACs', SOURCE, { macs: ['52:54:00:aa:00:01'] }, /2 interface\(s\) but 1 MAC/],
    ['too many MACs', minimal(''), { macs: ['52:54:00:aa:00:01'], disks: {} }, /0 interface\(s\) but 1 MAC/],
    ['an unknown disk target', SOURCE, { disks: { vdz: '/x.qcow2' } }, /no disk with target vdz/],
    [
      'a block disk',
      minimal("<devices><disk type='block' device='disk'><source dev='/dev/vg/web'/><target dev='vdb'/></disk></devices>"),
      { macs: [], disks: { vdb: '/x.qcow2' } },
      /disk vdb is not a file disk with a source file/,
    ],
    [
      'an empty cdrom',
      minimal("<devices><disk type='file' device='cdrom'><target dev='sda'/><readonly/></disk></devices>"),
      { macs: [], disks: { sda: '/x.iso' } },
      /disk sda is not a file disk/,
    ],
    ['a console log without serialLogPath', SOURCE, { serialLogPath: undefined }, /no serialLogPath was given/],
  ] as const)('refuses %s', (_what, source, opts, message) => {
    const run = () => cloneDomainXml(source, { ...OPTS, ...opts });
    expect(run).toThrow(CloneXmlError);
    expect(run).toThrow(message);
  });
});
