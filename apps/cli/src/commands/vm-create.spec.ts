import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import type { Job, PlacementDecision, VirtfleetClient } from '@virtfleet/sdk';
import { waitFlags, type Ctx } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { createVmBody, parseDisk, readBodyFile, registerVmCreate, type VmCreateFlags } from './vm-create';

/** The CliError a call throws (fails the test if it throws none, or another error). */
function usageError(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.usage);
    return err as CliError;
  }
  throw new Error('expected a usage error');
}

const base: VmCreateFlags = { name: 'vm1', memory: '1024', vcpus: '1', import: true, disk: ['size=1'] };

// docs/vms.md's body for the operation guide's own virt-install line.
const guideBody = {
  name: 'CentOS7.9',
  memoryMiB: 1024,
  vcpus: 1,
  install: { kind: 'location', iso: 'CentOS-7-x86_64-Minimal-2009.iso', extraArgs: 'console=ttyS0' },
  disks: [{ name: 'CentOS-7.9', sizeGiB: 20, format: 'qcow2' }],
  networks: [{ bridge: 'br0', model: 'virtio' }],
  autostart: true,
};

describe('createVmBody', () => {
  it('maps the operation guide’s virt-install line onto docs/vms.md’s body', () => {
    const body = createVmBody({
      virtType: 'kvm',
      name: 'CentOS7.9',
      osType: 'linux',
      vcpus: '1',
      memory: '1024',
      location: '/kvm/iso/CentOS-7-x86_64-Minimal-2009.iso',
      disk: ['/kvm/store/CentOS-7.9.qcow2,size=20,format=qcow2'],
      network: ['bridge=br0,model=virtio'],
      accelerate: true,
      autostart: true,
      extraArgs: 'console=ttyS0',
    });
    expect(body).toEqual(guideBody);
  });

  it('takes memory in MiB or with a unit, and memory=MAX,currentMemory=N', () => {
    expect(createVmBody({ ...base, memory: '2G' }).memoryMiB).toBe(2048);
    expect(createVmBody({ ...base, memory: '512M' }).memoryMiB).toBe(512);
    expect(createVmBody({ ...base, memory: '4096,currentMemory=2048' })).toMatchObject({ memoryMiB: 2048, maxMemoryMiB: 4096 });
    expect(createVmBody({ ...base, memory: '2G', maxMemory: '4G' })).toMatchObject({ memoryMiB: 2048, maxMemoryMiB: 4096 });
  });

  it('takes virt-install’s --vcpus N,maxvcpus=M,cpuset=LIST (cpuset keeping its commas)', () => {
    expect(createVmBody({ ...base, vcpus: '2,maxvcpus=4,cpuset=0-3,6' })).toMatchObject({ vcpus: 2, maxVcpus: 4, cpuset: '0-3,6' });
    expect(createVmBody({ ...base, vcpus: '2', cpuset: '1,^2' })).toMatchObject({ vcpus: 2, cpuset: '1,^2' });
  });

  describe('--disk', () => {
    it('reads path= (and virt-install’s bare path) as a name in the store root, the format from the extension', () => {
      expect(parseDisk('path=/kvm/store/vm1.qcow2,size=20')).toEqual({ name: 'vm1', sizeGiB: 20, format: 'qcow2' });
      expect(parseDisk('/kvm/store/vm1-data.raw,size=5,bus=sata')).toEqual({ name: 'vm1-data', sizeGiB: 5, format: 'raw', bus: 'sata' });
      expect(parseDisk('path=/var/lib/libvirt/images/old.img')).toEqual({ name: 'old', format: 'raw' });
      // format= wins over the extension; virt-install's driver.type= and target.bus= too
      expect(parseDisk('path=/kvm/store/vm1.img,driver.type=qcow2,target.bus=scsi')).toEqual({ name: 'vm1', format: 'qcow2', bus: 'scsi' });
      expect(parseDisk('path=relative-name')).toEqual({ name: 'relative-name' });
    });

    it('names disks without name= or path= after the VM: NAME, then NAME-2, NAME-3 by position', () => {
      const body = createVmBody({ ...base, name: 'web', disk: ['size=20,format=qcow2,bus=virtio', 'name=web-data,size=5', 'size=1T,format=raw'] });
      expect(body.disks).toEqual([
        { name: 'web', sizeGiB: 20, format: 'qcow2', bus: 'virtio' },
        { name: 'web-data', sizeGiB: 5 },
        { name: 'web-3', sizeGiB: 1024, format: 'raw' },
      ]);
    });

    it('takes --disk none as no disks', () => {
      expect(createVmBody({ ...base, import: false, pxe: true, network: ['default'], disk: ['none'] }).disks).toEqual([]);
    });

    it('refuses an unknown key, naming it', () => {
      const err = usageError(() => createVmBody({ ...base, disk: ['size=20,cache=none'] }));
      expect(err.message).toContain('unknown key cache');
      expect(err.hint).toContain('path=, name=, size=, format=, bus=');
    });

    it('refuses path= with name=, a size that is not whole GiB, and a key twice', () => {
      expect(usageError(() => parseDisk('path=/a/b.qcow2,name=c')).message).toContain('not both');
      expect(usageError(() => parseDisk('size=512M')).message).toContain('whole GiB');
      expect(usageError(() => parseDisk('size=1,size=2')).message).toContain('size is given twice');
      expect(usageError(() => parseDisk('format=raw,driver.type=qcow2')).message).toContain('format is given twice');
    });

    it('leaves the disk checks to the contract (a path name that is no safe name, a bad format)', () => {
      expect(usageError(() => createVmBody({ ...base, disk: ['path=/kvm/store/-x.qcow2'] })).message).toMatch(/^disks\.0\.name: /);
      expect(usageError(() => createVmBody({ ...base, disk: ['size=2,format=vmdk'] })).message).toMatch(/^disks\.0\.format: /);
    });
  });

  describe('--network', () => {
    it('maps libvirt networks and host bridges, with model and mac', () => {
      const body = createVmBody({ ...base, network: ['network=nat0,model=virtio,mac=52:54:00:12:34:56', 'bridge=br0,model=e1000', 'default', 'bridge:br1'] });
      expect(body.networks).toEqual([
        { network: 'nat0', model: 'virtio', mac: '52:54:00:12:34:56' },
        { bridge: 'br0', model: 'e1000' },
        { network: 'default' },
        { bridge: 'br1' },
      ]);
      expect(createVmBody({ ...base, network: ['none'] }).networks).toEqual([]);
    });

    it('refuses unknown keys, both network and bridge, and a bad model', () => {
      expect(usageError(() => createVmBody({ ...base, network: ['network=nat,driver=vhost'] })).message).toContain('unknown key driver');
      expect(usageError(() => createVmBody({ ...base, network: ['network=nat,bridge=br0'] })).message).toContain('networks.0.network: give exactly one of network');
      expect(usageError(() => createVmBody({ ...base, network: ['bridge=br0,model=ne2k'] })).message).toMatch(/^networks\.0\.model: /);
      expect(usageError(() => createVmBody({ ...base, network: ['nat0'] })).message).toContain('needs a key');
    });
  });

  describe('--graphics', () => {
    it('maps none and vnc with listen, port and password', () => {
      expect(createVmBody({ ...base, graphics: 'none' }).graphics).toEqual({ type: 'none' });
      expect(createVmBody({ ...base, graphics: 'vnc' }).graphics).toEqual({ type: 'vnc' });
      expect(createVmBody({ ...base, graphics: 'vnc,listen=0.0.0.0,port=5901,password=s3cret' }).graphics).toEqual({
        type: 'vnc',
        listen: '0.0.0.0',
        port: 5901,
        password: 's3cret',
      });
      expect(createVmBody({ ...base, graphics: 'vnc,port=-1' }).graphics).toEqual({ type: 'vnc' });
    });

    it('refuses spice, unknown keys, and all addresses without a password', () => {
      expect(usageError(() => createVmBody({ ...base, graphics: 'spice' })).hint).toContain('VNC displays only');
      expect(usageError(() => createVmBody({ ...base, graphics: 'vnc,keymap=de' })).message).toContain('unknown key keymap');
      expect(usageError(() => createVmBody({ ...base, graphics: 'vnc,listen=0.0.0.0' })).message).toBe('graphics.listen: listening on all addresses needs a password');
    });
  });

  describe('install sources', () => {
    it('maps --cdrom (a path’s file name), --location ISO|URL, --pxe and --import', () => {
      expect(createVmBody({ ...base, import: false, cdrom: '/kvm/iso/CentOS-7-x86_64-Minimal-2009.iso' }).install).toEqual({ kind: 'cdrom', iso: 'CentOS-7-x86_64-Minimal-2009.iso' });
      expect(
        createVmBody({ ...base, import: false, location: 'http://mirror.example.org/centos/7/os/x86_64/', extraArgs: 'console=ttyS0 ks=http://172.16.0.1/class.cfg' }).install,
      ).toEqual({ kind: 'location', url: 'http://mirror.example.org/centos/7/os/x86_64/', extraArgs: 'console=ttyS0 ks=http://172.16.0.1/class.cfg' });
      expect(createVmBody({ ...base, import: false, pxe: true, network: ['network=nat'] }).install).toEqual({ kind: 'pxe' });
      expect(createVmBody({ ...base, disk: ['name=vm1'] }).install).toEqual({ kind: 'import' });
    });

    it('maps virt-install’s direct kernel boot, kernel_args keeping commas and losing its quotes', () => {
      const body = createVmBody({
        name: 'tiny1',
        memory: '256M',
        vcpus: '1',
        boot: 'kernel=/kvm/iso/vmlinux,initrd=initramfs.gz,kernel_args="console=ttyS0 quiet panic=-1 a=b,c"',
        disk: ['name=tiny1-data,size=1'],
        waitFor: 'guest-ready',
        readyMarker: 'TINYGUEST-READY',
        readyTimeout: '120',
      });
      expect(body).toEqual({
        name: 'tiny1',
        memoryMiB: 256,
        vcpus: 1,
        install: { kind: 'kernel', kernel: 'vmlinux', initrd: 'initramfs.gz', cmdline: 'console=ttyS0 quiet panic=-1 a=b,c' },
        disks: [{ name: 'tiny1-data', sizeGiB: 1 }],
        waitFor: 'guest-ready',
        readyMarker: 'TINYGUEST-READY',
        readyTimeoutSeconds: 120,
      });
    });

    it('maps a boot order, alone or before a kernel', () => {
      expect(createVmBody({ ...base, import: false, cdrom: 'x.iso', boot: 'cdrom,hd' })).toMatchObject({ boot: ['cdrom', 'hd'], install: { kind: 'cdrom', iso: 'x.iso' } });
      expect(createVmBody({ ...base, import: false, boot: 'hd,kernel=vmlinux' })).toMatchObject({ boot: ['hd'], install: { kind: 'kernel', kernel: 'vmlinux' } });
      expect(usageError(() => createVmBody({ ...base, boot: 'fd' })).message).toContain('unknown boot device fd');
    });

    it('refuses two install sources, naming them', () => {
      const err = usageError(() => createVmBody({ ...base, cdrom: 'x.iso' }));
      expect(err.message).toBe('give one install source, not --import and --cdrom');
      expect(usageError(() => createVmBody({ ...base, import: false, pxe: true, boot: 'kernel=vmlinux' })).message).toBe('give one install source, not --pxe and --boot kernel=…');
    });

    it('refuses none, listing the choices rather than guessing --import', () => {
      const err = usageError(() => createVmBody({ name: 'vm1', memory: '1G', vcpus: '1', disk: ['name=vm1'] }));
      expect(err.message).toBe('give an install source');
      expect(err.hint).toContain('--import');
      expect(err.hint).toContain('--cdrom ISO');
      expect(err.hint).toContain('--location ISO|URL');
      expect(err.hint).toContain('--pxe');
      expect(err.hint).toContain('--boot kernel=');
    });

    it('refuses --extra-args without --location', () => {
      expect(usageError(() => createVmBody({ ...base, extraArgs: 'console=ttyS0' })).message).toContain('--extra-args goes with --location');
    });

    it('refuses a URL where a file in the iso root is meant (never guessing a name from it)', () => {
      expect(usageError(() => createVmBody({ ...base, import: false, cdrom: 'http://example.org/x.iso' })).message).toContain('give a file name, not a URL');
      expect(usageError(() => createVmBody({ ...base, import: false, location: 'nfs:server:/export/centos' })).message).toContain('not a URL');
    });

    it('lets the contract refuse a URL pointing at the host itself', () => {
      expect(usageError(() => createVmBody({ ...base, import: false, location: 'http://127.0.0.1/tree/' })).message).toMatch(/^install\.url: /);
    });
  });

  it('maps the rest: os variant, serial, autostart, labels, host selector', () => {
    expect(
      createVmBody({ ...base, osVariant: 'centos7.0', serial: false, autostart: true, label: ['team=web', 'tier=a=b'], hostSelector: 'zone=a,rack=r1' }),
    ).toMatchObject({ osVariant: 'centos7.0', serial: false, autostart: true, labels: { team: 'web', tier: 'a=b' }, hostSelector: { zone: 'a', rack: 'r1' } });
    // commander's default for --no-serial is true: that says nothing
    expect(createVmBody({ ...base, serial: true })).not.toHaveProperty('serial');
  });

  describe('usage errors', () => {
    it('bad memory: not a size, too little, below the maximum', () => {
      expect(usageError(() => createVmBody({ ...base, memory: 'lots' })).message).toContain('--memory "lots"');
      expect(usageError(() => createVmBody({ ...base, memory: '8' })).message).toMatch(/^memoryMiB: /);
      expect(usageError(() => createVmBody({ ...base, memory: '2G', maxMemory: '1G' })).message).toBe('maxMemoryMiB: maxMemoryMiB must be at least memoryMiB');
      expect(usageError(() => createVmBody({ ...base, memory: '1024,maxmemory=2048' })).message).toContain('unknown key maxmemory');
    });

    it('bad vcpus, a bad --ready-timeout, a --label without =, --virt-type other than kvm', () => {
      expect(usageError(() => createVmBody({ ...base, vcpus: 'two' })).message).toContain('--vcpus must be a whole number');
      expect(usageError(() => createVmBody({ ...base, vcpus: '2,sockets=1' })).message).toContain('unknown key sockets');
      expect(usageError(() => createVmBody({ ...base, readyTimeout: '0' })).message).toContain('--ready-timeout');
      expect(usageError(() => createVmBody({ ...base, label: ['team'] })).message).toContain('--label "team"');
      expect(usageError(() => createVmBody({ ...base, virtType: 'xen' })).message).toContain('--virt-type xen');
    });

    it('joins every contract issue into one message', () => {
      const err = usageError(() => createVmBody({ name: '-bad', memory: '1024', vcpus: '1', import: true }));
      expect(err.message).toMatch(/^name: .+; disks: import needs a disk to boot$/);
    });

    it('no name at all', () => {
      expect(usageError(() => createVmBody({ memory: '1G', vcpus: '1', import: true })).message).toContain('give the VM a name');
    });
  });
});

describe('--from-file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vm-create-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const yaml = `
# docs/vms.md's cdrom example, as YAML
name: db-1
memoryMiB: 4096
maxMemoryMiB: 8192
vcpus: 2
maxVcpus: 4
install: { kind: cdrom, iso: CentOS-7-x86_64-Minimal-2009.iso }
disks:
  - name: db-1
    sizeGiB: 20
networks:
  - bridge: br1
    mac: 52:54:00:12:34:56
graphics: { type: vnc }
osVariant: centos7
labels: { team: db }
hostSelector: { zone: a }
`;

  it('reads the YAML body as it is', async () => {
    const file = join(dir, 'db-1.yaml');
    await writeFile(file, yaml);
    const body = createVmBody({}, await readBodyFile(file));
    expect(body).toEqual({
      name: 'db-1',
      memoryMiB: 4096,
      maxMemoryMiB: 8192,
      vcpus: 2,
      maxVcpus: 4,
      install: { kind: 'cdrom', iso: 'CentOS-7-x86_64-Minimal-2009.iso' },
      disks: [{ name: 'db-1', sizeGiB: 20 }],
      networks: [{ bridge: 'br1', mac: '52:54:00:12:34:56' }],
      graphics: { type: 'vnc' },
      osVariant: 'centos7',
      labels: { team: 'db' },
      hostSelector: { zone: 'a' },
    });
  });

  it('lets flags win: scalars, the install source, whole disk and network lists; labels add up', async () => {
    const file = join(dir, 'db-2.yaml');
    await writeFile(file, yaml);
    const body = createVmBody(
      { name: 'db-2', memory: '6G', location: '/kvm/iso/CentOS-7-x86_64-DVD-2009.iso', disk: ['size=40', 'size=100,format=raw'], network: ['network=nat0'], label: ['tier=gold'] },
      await readBodyFile(file),
    );
    expect(body).toMatchObject({
      name: 'db-2',
      memoryMiB: 6144,
      maxMemoryMiB: 8192,
      vcpus: 2,
      install: { kind: 'location', iso: 'CentOS-7-x86_64-DVD-2009.iso' },
      disks: [
        { name: 'db-2', sizeGiB: 40 },
        { name: 'db-2-2', sizeGiB: 100, format: 'raw' },
      ],
      networks: [{ network: 'nat0' }],
      labels: { team: 'db', tier: 'gold' },
      hostSelector: { zone: 'a' },
    });
  });

  it('adds --extra-args to the file’s location install', () => {
    const file = { name: 'c', memoryMiB: 1024, vcpus: 1, install: { kind: 'location', iso: 'c.iso' } };
    expect(createVmBody({ extraArgs: 'console=ttyS0' }, file).install).toEqual({ kind: 'location', iso: 'c.iso', extraArgs: 'console=ttyS0' });
  });

  it('reads JSON from stdin for -', async () => {
    const stdin = Readable.from([JSON.stringify({ name: 'j1', memoryMiB: 512, vcpus: 1, install: { kind: 'pxe' }, networks: [{ network: 'nat' }] })]);
    expect(createVmBody({}, await readBodyFile('-', stdin))).toMatchObject({ name: 'j1', install: { kind: 'pxe' } });
  });

  it('refuses a file that is not there, not YAML, not a mapping, or with unknown fields', async () => {
    await expect(readBodyFile(join(dir, 'nope.yaml'))).rejects.toThrow(/--from-file .*nope\.yaml: ENOENT/);
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'name: [unclosed\n');
    await expect(readBodyFile(bad)).rejects.toMatchObject({ exitCode: EXIT.usage });
    const list = join(dir, 'list.yaml');
    await writeFile(list, '- a\n- b\n');
    await expect(readBodyFile(list)).rejects.toThrow('give the API body, a mapping of its fields');
    const extra = { name: 'x', memoryMiB: 1024, vcpus: 1, install: { kind: 'pxe' }, networks: [{ network: 'n' }], cpus: 2, hostId: 7 };
    const err = usageError(() => createVmBody({}, extra));
    expect(err.message).toContain('(body): Unrecognized key: "cpus"');
    expect(err.message).toContain('hostId: ');
  });
});

describe('registerVmCreate', () => {
  const job = { id: 'j-1', type: 'create-vm', state: 'queued' } as unknown as Job;
  const decision: PlacementDecision = {
    hostId: '11111111-1111-4111-8111-111111111111',
    hostName: 'kvm01',
    reason: 'most room left',
    hosts: [{ hostId: '11111111-1111-4111-8111-111111111111', name: 'kvm01', fits: true, reasons: [], freeMemoryMiB: 4096, freeVcpus: 8, score: 0.5 }],
  };

  function setup() {
    const create = jest.fn(async (_body: unknown) => job);
    const place = jest.fn(async (_body: unknown) => decision);
    const vf = { vms: { create, place } } as unknown as VirtfleetClient;
    const written: string[] = [];
    const accepted = jest.fn(async (_job: Job, _flags: unknown) => undefined);
    const ctx: Ctx = {
      out: () => ({ json: false, tty: false, write: (t: string) => void written.push(t) }),
      client: async () => vf,
      call: (fn) => fn(vf),
      accepted,
      submit: async (flags, fn) => accepted(await fn(vf), waitFlags(flags)),
      follow: jest.fn(),
    };
    const program = new Command('virtfleet').exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    registerVmCreate(program.command('vms'), ctx);
    const run = (...args: string[]) => program.parseAsync(['vms', 'create', ...args], { from: 'user' });
    return { create, place, accepted, written, run, program };
  }

  it('takes the guide’s virt-install line pasted as it is', async () => {
    const { create, accepted, run } = setup();
    await run(
      '--virt-type=kvm',
      '--name=CentOS7.9',
      '--os-type=linux',
      '--vcpus=1',
      '--memory=1024',
      '--location=/kvm/iso/CentOS-7-x86_64-Minimal-2009.iso',
      '--disk=/kvm/store/CentOS-7.9.qcow2,size=20,format=qcow2',
      '--network',
      'bridge=br0,model=virtio',
      '--accelerate',
      '--autostart',
      '--extra-args=console=ttyS0',
      '--wait',
    );
    expect(create).toHaveBeenCalledWith(guideBody);
    expect(accepted).toHaveBeenCalledWith(job, { wait: true });
  });

  it('takes the name as the argument, repeats --disk and --label, passes a host id on', async () => {
    const { create, run } = setup();
    await run('web', '--memory', '2G', '--vcpus', '2', '--import', '--disk', 'size=20', '--disk', 'size=5', '--label', 'a=1', '--label', 'b=2', '--host', decision.hostId as string, '--no-serial');
    expect(create).toHaveBeenCalledWith({
      name: 'web',
      memoryMiB: 2048,
      vcpus: 2,
      install: { kind: 'import' },
      disks: [
        { name: 'web', sizeGiB: 20 },
        { name: 'web-2', sizeGiB: 5 },
      ],
      serial: false,
      labels: { a: '1', b: '2' },
      hostId: decision.hostId,
    });
  });

  it('--dry-run asks for the placement and prints it, creating nothing', async () => {
    const { create, place, written, run } = setup();
    await run('web', '--memory', '2G', '--vcpus', '2', '--pxe', '--network', 'default', '--host-selector', 'zone=a', '--dry-run');
    expect(create).not.toHaveBeenCalled();
    expect(place).toHaveBeenCalledWith(expect.objectContaining({ name: 'web', hostSelector: { zone: 'a' } }));
    expect(written.join('')).toContain('would place it on kvm01: most room left');
  });

  it('refuses two different names', async () => {
    const { run } = setup();
    await expect(run('a', '--name', 'b', '--memory', '1G', '--vcpus', '1', '--pxe')).rejects.toThrow('two names: a and --name b');
  });

  it('hides the virt-install leftovers from --help but shows examples', () => {
    const { program } = setup();
    const create = program.commands[0]?.commands.find((c) => c.name() === 'create') as Command;
    let help = '';
    create.configureOutput({ writeOut: (t) => void (help += t) });
    create.outputHelp();
    expect(help).toContain('--from-file <file>');
    expect(help).toContain('virtfleet vms create CentOS7.9');
    expect(help).not.toMatch(/^\s+--(accelerate|virt-type|os-type|osinfo|noautoconsole)\b/m);
  });
});
