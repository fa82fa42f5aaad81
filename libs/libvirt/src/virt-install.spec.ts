import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { createVmPayload } from '@virtfleet/contracts';
import { argvOf, shownArgvOf, assertSucceeded, NodeCommandRunner } from '@virtfleet/exec';
import { qemuImgCreate } from './qemu-img';
import { virsh } from './virsh';
import {
  IncompleteSpecError,
  splitPrintedDomains,
  UnsafeValueError,
  virtInstallCommand,
  virtInstallPrintXml,
  type ResolvedVmDisk,
  type VirtInstallSpec,
} from './virt-install';

const UUID = '4c3f2a1b-5d6e-4f70-8a9b-0c1d2e3f4a5b';
/** The smallest valid create-vm request. */
const INPUT = { name: 'vm1', memoryMiB: 256, vcpus: 1, install: { kind: 'import' }, disks: [{ name: 'vm1.qcow2' }] };
const accepts = (input: Record<string, unknown>): boolean => createVmPayload.safeParse({ ...INPUT, ...input }).success;

/** A payload as the API parses it, plus what the host resolves. */
function specOf(input: Record<string, unknown>, resolved: Partial<VirtInstallSpec> = {}): VirtInstallSpec {
  const payload = createVmPayload.parse({ ...INPUT, ...input });
  const disks: ResolvedVmDisk[] = payload.disks.map((d) => ({ ...d, path: `/kvm/store/${d.name}`, create: d.sizeGiB !== undefined }));
  return {
    ...payload,
    uri: 'qemu:///system',
    uuid: UUID,
    virtType: 'qemu',
    disks,
    ...(payload.serial ? { serialLogPath: '/kvm/log/vm1-serial.log' } : {}),
    ...resolved,
  };
}

/** The value of the argv element after `flag` (the first one). */
function after(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
}

function allAfter(argv: readonly string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1] ?? ''] : []));
}

describe('virtInstallCommand', () => {
  it('imports a disk with everything pinned: uri, name, uuid, type, os, no console', () => {
    const cmd = virtInstallCommand(specOf({ serial: false }));
    expect(argvOf(cmd)).toEqual([
      'virt-install',
      '--connect',
      'qemu:///system',
      '--name',
      'vm1',
      '--uuid',
      UUID,
      '--virt-type',
      'qemu',
      '--osinfo',
      'generic',
      '--memory',
      '256',
      '--vcpus',
      '1',
      '--import',
      '--disk',
      'path=/kvm/store/vm1.qcow2,driver.type=qcow2,bus=virtio',
      '--network',
      'none',
      '--graphics',
      'none',
      '--noautoconsole',
    ]);
    expect(cmd.timeoutMs).toBeGreaterThan(60_000);
  });

  it('never waits for an install to finish: --noautoconsole, no --wait', () => {
    const argv = argvOf(virtInstallCommand(specOf({ install: { kind: 'cdrom', iso: 'd.iso' } }, { isoPath: '/kvm/iso/d.iso' })));
    expect(argv).toContain('--noautoconsole');
    expect(argv.some((a) => a.startsWith('--wait'))).toBe(false);
    expect(argv).not.toContain('--noreboot');
  });

  it('omits --virt-type for the test driver', () => {
    const spec: VirtInstallSpec = { ...specOf({}), uri: 'test:///default' };
    delete (spec as { virtType?: string }).virtType;
    const argv = argvOf(virtInstallCommand(spec));
    expect(argv).not.toContain('--virt-type');
    expect(after(argv, '--connect')).toBe('test:///default');
  });

  it('memory with a maximum uses the XML names (the legacy maxmemory= swaps them)', () => {
    const argv = argvOf(virtInstallCommand(specOf({ memoryMiB: 256, maxMemoryMiB: 1024 })));
    expect(after(argv, '--memory')).toBe('memory=1024,currentMemory=256');
  });

  it('vcpus with maxvcpus and a comma cpuset, cpuset last', () => {
    const argv = argvOf(virtInstallCommand(specOf({ vcpus: 2, maxVcpus: 4, cpuset: '0-1,3' })));
    expect(after(argv, '--vcpus')).toBe('2,maxvcpus=4,cpuset=0-1,3');
  });

  it('cdrom from the resolved iso path', () => {
    const argv = argvOf(virtInstallCommand(specOf({ install: { kind: 'cdrom', iso: 'd.iso' } }, { isoPath: '/kvm/iso/d.iso' })));
    expect(after(argv, '--cdrom')).toBe('/kvm/iso/d.iso');
    expect(argv).not.toContain('--import');
  });

  it('location from a URL with --extra-args as one element', () => {
    const argv = argvOf(
      virtInstallCommand(
        specOf({ install: { kind: 'location', url: 'http://deb.example/debian/dists/bookworm/main/installer-amd64/', extraArgs: 'console=ttyS0,115200 auto=true' } }),
      ),
    );
    expect(after(argv, '--location')).toBe('http://deb.example/debian/dists/bookworm/main/installer-amd64/');
    expect(after(argv, '--extra-args')).toBe('console=ttyS0,115200 auto=true');
  });

  it('location from an iso, no extra args', () => {
    const argv = argvOf(virtInstallCommand(specOf({ install: { kind: 'location', iso: 'netinst.iso' } }, { isoPath: '/kvm/iso/netinst.iso' })));
    expect(after(argv, '--location')).toBe('/kvm/iso/netinst.iso');
    expect(argv).not.toContain('--extra-args');
  });

  it('pxe needs a network', () => {
    const argv = argvOf(virtInstallCommand(specOf({ install: { kind: 'pxe' }, networks: [{ network: 'default' }] })));
    expect(argv).toContain('--pxe');
    expect(createVmPayload.safeParse({ ...INPUT, install: { kind: 'pxe' } }).success).toBe(false);
    expect(() => virtInstallCommand({ ...specOf({ install: { kind: 'pxe' }, networks: [{ network: 'default' }] }), networks: [] })).toThrow(
      IncompleteSpecError,
    );
  });

  it('direct kernel boot: --import plus one --boot with devices first and the command line quoted', () => {
    const argv = argvOf(
      virtInstallCommand(
        specOf(
          { install: { kind: 'kernel', kernel: 'vmlinux', initrd: 'initramfs.gz', cmdline: 'console=ttyS0 quiet panic=-1' }, disks: [], boot: ['hd', 'network'] },
          { kernelPath: '/kvm/iso/vmlinux', initrdPath: '/kvm/iso/initramfs.gz' },
        ),
      ),
    );
    expect(argv).toContain('--import');
    expect(after(argv, '--disk')).toBe('none');
    expect(allAfter(argv, '--boot')).toEqual(['hd,network,kernel=/kvm/iso/vmlinux,initrd=/kvm/iso/initramfs.gz,kernel_args="console=ttyS0 quiet panic=-1"']);
  });

  it('disks: size= only for a disk the host makes now', () => {
    const spec = specOf({ disks: [{ name: 'a.qcow2', sizeGiB: 10 }, { name: 'b.raw', format: 'raw', bus: 'sata' }] });
    expect(allAfter(argvOf(virtInstallCommand(spec)), '--disk')).toEqual([
      'path=/kvm/store/a.qcow2,driver.type=qcow2,bus=virtio,format=qcow2,size=10',
      'path=/kvm/store/b.raw,driver.type=raw,bus=sata',
    ]);
    // A redelivered job finds the disk it made before: no size=, and the path is checked as in use.
    const again = { ...spec, disks: spec.disks.map((d) => ({ ...d, create: false })) };
    expect(allAfter(argvOf(virtInstallCommand(again)), '--disk')[0]).toBe('path=/kvm/store/a.qcow2,driver.type=qcow2,bus=virtio');
    expect(argvOf(virtInstallCommand(spec)).join(' ')).not.toContain('path_in_use');
  });

  it('a new disk without a size is an incomplete spec', () => {
    const spec = specOf({});
    const disks = spec.disks.map((d) => ({ ...d, create: true }));
    expect(() => virtInstallCommand({ ...spec, disks })).toThrow(expect.objectContaining({ field: 'disks[0].sizeGiB' }));
  });

  it('networks: libvirt network or host bridge, model, lower-case mac', () => {
    const argv = argvOf(
      virtInstallCommand(specOf({ networks: [{ network: 'default', model: 'e1000', mac: '52:54:00:AB:CD:EF' }, { bridge: 'br0' }] })),
    );
    expect(allAfter(argv, '--network')).toEqual(['network=default,model=e1000,mac=52:54:00:ab:cd:ef', 'bridge=br0,model=virtio']);
  });

  it('masks the VNC password wherever the command is shown', () => {
    const cmd = virtInstallCommand(specOf({ graphics: { type: 'vnc', listen: '::1', password: 's3cret' } }));
    expect(shownArgvOf(cmd).join(' ')).not.toContain('s3cret');
    expect(shownArgvOf(cmd)).toContain('vnc,listen=::1,***');
  });

  it('vnc on 127.0.0.1 by default, port and password when given', () => {
    expect(after(argvOf(virtInstallCommand(specOf({ graphics: { type: 'vnc' } }))), '--graphics')).toBe('vnc,listen=127.0.0.1');
    const argv = argvOf(virtInstallCommand(specOf({ graphics: { type: 'vnc', listen: '::1', port: 5911, password: 's3cret' } })));
    expect(after(argv, '--graphics')).toBe('vnc,listen=::1,port=5911,password=s3cret');
  });

  it('refuses vnc on all addresses without a password even when the contract was bypassed', () => {
    const spec = specOf({});
    expect(() => virtInstallCommand({ ...spec, graphics: { type: 'vnc', listen: '0.0.0.0' } })).toThrow(
      expect.objectContaining({ field: 'graphics.listen' }),
    );
  });

  it('serial console logged to the resolved file', () => {
    const argv = argvOf(virtInstallCommand(specOf({ serial: true })));
    expect(after(argv, '--serial')).toBe('pty,log.file=/kvm/log/vm1-serial.log');
    const spec = specOf({ serial: true });
    delete (spec as { serialLogPath?: string }).serialLogPath;
    expect(() => virtInstallCommand(spec)).toThrow(IncompleteSpecError);
  });

  it('boot order and autostart', () => {
    const argv = argvOf(virtInstallCommand(specOf({ boot: ['hd', 'cdrom'], autostart: true })));
    expect(after(argv, '--boot')).toBe('hd,cdrom');
    expect(argv).toContain('--autostart');
  });

  it('needs the paths the host resolves', () => {
    expect(() => virtInstallCommand(specOf({ install: { kind: 'cdrom', iso: 'd.iso' } }))).toThrow(expect.objectContaining({ field: 'isoPath' }));
    expect(() => virtInstallCommand(specOf({ install: { kind: 'kernel', kernel: 'k' } }))).toThrow(expect.objectContaining({ field: 'kernelPath' }));
    expect(() =>
      virtInstallCommand(specOf({ install: { kind: 'kernel', kernel: 'k', initrd: 'i' } }, { kernelPath: '/kvm/iso/k' })),
    ).toThrow(expect.objectContaining({ field: 'initrdPath' }));
  });

  it('labels, waitFor and readyMarker never reach argv', () => {
    const argv = argvOf(virtInstallCommand(specOf({ labels: { team: 'blue-label' }, waitFor: 'guest-ready', readyMarker: 'READY-MARK' })));
    expect(argv.join(' ')).not.toMatch(/team|blue-label|READY-MARK|guest-ready/);
  });

  it('virtInstallPrintXml adds --print-xml --dry-run (no disk is allocated)', () => {
    const argv = argvOf(virtInstallPrintXml(specOf({})));
    expect(argv.slice(-3)).toEqual(['--noautoconsole', '--print-xml', '--dry-run']);
  });

  it('splitPrintedDomains', () => {
    expect(splitPrintedDomains('<domain type="qemu">\n  <name>a</name>\n</domain>\n<domain type="qemu"><name>b</name></domain>\n')).toEqual([
      '<domain type="qemu">\n  <name>a</name>\n</domain>',
      '<domain type="qemu"><name>b</name></domain>',
    ]);
    expect(splitPrintedDomains('')).toEqual([]);
  });
});

// ---- injection: every string field, at the API (contract) and again in the builder ----

const ATTEMPTS = ['x,backing_store=/etc/shadow', '--foo', '$(id)', '"', "'", '../etc/passwd'] as const;
type Attempt = (typeof ATTEMPTS)[number];

interface FieldCase {
  /** The field name the builder reports. */
  readonly field: string;
  /** API input carrying the value. */
  readonly input: (v: string) => Record<string, unknown>;
  /** A host spec carrying the value, as if a bad value got past the types. */
  readonly spec: (v: string) => VirtInstallSpec;
}

const good = specOf({});
const goodDisk: ResolvedVmDisk = { name: 'vm1.qcow2', format: 'qcow2', bus: 'virtio', path: '/kvm/store/vm1.qcow2', create: false };
type KernelInstall = Extract<VirtInstallSpec['install'], { kind: 'kernel' }>;
const kernelSpec = (install: KernelInstall): VirtInstallSpec => ({
  ...good,
  disks: [],
  install,
  kernelPath: '/kvm/iso/vmlinuz',
  initrdPath: '/kvm/iso/initrd.img',
});
const cast = (s: Record<string, unknown>): VirtInstallSpec => s as unknown as VirtInstallSpec;

const FIELDS: readonly FieldCase[] = [
  { field: 'name', input: (v) => ({ name: v }), spec: (v) => ({ ...good, name: v }) },
  { field: 'disks[0].name', input: (v) => ({ disks: [{ name: v }] }), spec: (v) => ({ ...good, disks: [{ ...goodDisk, name: v }] }) },
  {
    field: 'networks[0].network',
    input: (v) => ({ networks: [{ network: v }] }),
    spec: (v) => ({ ...good, networks: [{ network: v, model: 'virtio' }] }),
  },
  {
    field: 'networks[0].bridge',
    input: (v) => ({ networks: [{ bridge: v }] }),
    spec: (v) => ({ ...good, networks: [{ bridge: v, model: 'virtio' }] }),
  },
  {
    field: 'networks[0].mac',
    input: (v) => ({ networks: [{ network: 'default', mac: v }] }),
    spec: (v) => ({ ...good, networks: [{ network: 'default', model: 'virtio', mac: v }] }),
  },
  { field: 'graphics.listen', input: (v) => ({ graphics: { type: 'vnc', listen: v } }), spec: (v) => ({ ...good, graphics: { type: 'vnc', listen: v } }) },
  {
    field: 'graphics.password',
    input: (v) => ({ graphics: { type: 'vnc', password: v } }),
    spec: (v) => ({ ...good, graphics: { type: 'vnc', listen: '127.0.0.1', password: v } }),
  },
  { field: 'osVariant', input: (v) => ({ osVariant: v }), spec: (v) => ({ ...good, osVariant: v }) },
  { field: 'cpuset', input: (v) => ({ cpuset: v }), spec: (v) => ({ ...good, cpuset: v }) },
  {
    field: 'install.iso',
    input: (v) => ({ install: { kind: 'cdrom', iso: v } }),
    spec: (v) => ({ ...good, install: { kind: 'cdrom', iso: v }, isoPath: '/kvm/iso/x.iso' }),
  },
  { field: 'install.url', input: (v) => ({ install: { kind: 'location', url: v } }), spec: (v) => ({ ...good, install: { kind: 'location', url: v } }) },
  {
    field: 'install.extraArgs',
    input: (v) => ({ install: { kind: 'location', url: 'http://mirror.example/d/', extraArgs: v } }),
    spec: (v) => ({ ...good, install: { kind: 'location', url: 'http://mirror.example/d/', extraArgs: v } }),
  },
  { field: 'install.kernel', input: (v) => ({ install: { kind: 'kernel', kernel: v } }), spec: (v) => kernelSpec({ kind: 'kernel', kernel: v }) },
  {
    field: 'install.initrd',
    input: (v) => ({ install: { kind: 'kernel', kernel: 'vmlinuz', initrd: v } }),
    spec: (v) => kernelSpec({ kind: 'kernel', kernel: 'vmlinuz', initrd: v }),
  },
  {
    field: 'install.cmdline',
    input: (v) => ({ install: { kind: 'kernel', kernel: 'vmlinuz', cmdline: v } }),
    spec: (v) => kernelSpec({ kind: 'kernel', kernel: 'vmlinuz', cmdline: v }),
  },
];

/**
 * What the contract lets through today. cmdline/extraArgs are kernel command lines, where commas
 * and "=" are normal (console=ttyS0,115200): the builder quotes them, see CONTAINED. The
 * (the VNC password is limited to 1-8 safe characters by the contract).
 */
const CONTRACT_ACCEPTS: Readonly<Record<string, readonly Attempt[]>> = {
  'install.extraArgs': ['x,backing_store=/etc/shadow', '../etc/passwd'],
  'install.cmdline': ['x,backing_store=/etc/shadow', '../etc/passwd'],
};

/** Values the builder lets through because they are harmless where they go (checked below). */
const CONTAINED: Readonly<Record<string, readonly Attempt[]>> = {
  'install.extraArgs': ['x,backing_store=/etc/shadow', '../etc/passwd'], // its own argv element
  'install.cmdline': ['x,backing_store=/etc/shadow', '../etc/passwd'], // inside kernel_args="…"
};

const cases = FIELDS.flatMap((f) => ATTEMPTS.map((attempt) => ({ ...f, attempt })));

describe('injection attempts', () => {
  it.each(cases.filter((c) => !CONTRACT_ACCEPTS[c.field]?.includes(c.attempt)))('contract refuses $field = $attempt', ({ input, attempt }) => {
    expect(accepts(input(attempt))).toBe(false);
  });

  it.each(cases.filter((c) => CONTRACT_ACCEPTS[c.field]?.includes(c.attempt)))('contract gap: $field accepts $attempt', ({ input, attempt }) => {
    expect(accepts(input(attempt))).toBe(true);
  });

  it.each(cases.filter((c) => !CONTAINED[c.field]?.includes(c.attempt)))('builder refuses $field = $attempt', ({ field, spec, attempt }) => {
    expect(() => virtInstallCommand(spec(attempt))).toThrow(UnsafeValueError);
    expect(() => virtInstallCommand(spec(attempt))).toThrow(expect.objectContaining({ field }));
  });

  it('keeps a kernel command line with commas and "=" inside kernel_args="…"', () => {
    const argv = argvOf(virtInstallCommand(kernelSpec({ kind: 'kernel', kernel: 'vmlinuz', cmdline: 'x,backing_store=/etc/shadow' })));
    expect(after(argv, '--boot')).toBe('kernel=/kvm/iso/vmlinuz,kernel_args="x,backing_store=/etc/shadow"');
  });

  it('passes --extra-args as its own element, never into comma syntax', () => {
    const argv = argvOf(virtInstallCommand({ ...good, install: { kind: 'location', url: 'http://mirror.example/d/', extraArgs: 'x,backing_store=/etc/shadow' } }));
    expect(after(argv, '--extra-args')).toBe('x,backing_store=/etc/shadow');
  });

  it('takes a password that merely looks like a path, refuses one libvirt would (over 8 characters)', () => {
    const argv = argvOf(virtInstallCommand({ ...good, graphics: { type: 'vnc', listen: '127.0.0.1', password: '../pw' } }));
    expect(after(argv, '--graphics')).toBe('vnc,listen=127.0.0.1,password=../pw');
    expect(accepts({ graphics: { type: 'vnc', password: '123456789' } })).toBe(false);
    expect(() => virtInstallCommand({ ...good, graphics: { type: 'vnc', listen: '127.0.0.1', password: '123456789' } })).toThrow(
      expect.objectContaining({ field: 'graphics.password' }),
    );
  });

  it('label keys are refused when they look like options or paths (and labels never reach argv)', () => {
    for (const key of ['--foo', '../etc/passwd']) {
      expect(accepts({ labels: { [key]: 'v' } })).toBe(false);
      expect(argvOf(virtInstallCommand({ ...good, labels: { [key]: 'v' } })).join(' ')).not.toContain(key);
    }
    for (const key of ['x,backing_store=/etc/shadow', '$(id)', '"', "'"]) {
      expect(accepts({ labels: { [key]: 'v' } })).toBe(false);
    }
  });

  it.each(['list', 'help', 'auto', 'none'])('refuses osinfo command word %s (contract and builder)', (word) => {
    expect(accepts({ osVariant: word })).toBe(false);
    expect(() => virtInstallCommand({ ...good, osVariant: word })).toThrow(expect.objectContaining({ field: 'osVariant' }));
  });

  const PATH_FIELDS: ReadonlyArray<readonly [string, (p: string) => VirtInstallSpec]> = [
    ['disks[0].path', (p) => ({ ...good, disks: [{ ...goodDisk, path: p }] })],
    ['isoPath', (p) => ({ ...good, install: { kind: 'cdrom', iso: 'x.iso' }, isoPath: p })],
    ['kernelPath', (p) => ({ ...kernelSpec({ kind: 'kernel', kernel: 'k' }), kernelPath: p })],
    ['initrdPath', (p) => ({ ...kernelSpec({ kind: 'kernel', kernel: 'k', initrd: 'i' }), initrdPath: p })],
    ['serialLogPath', (p) => ({ ...good, serial: true, serialLogPath: p })],
  ];
  const BAD_PATHS = [
    ...ATTEMPTS,
    '/kvm/store/a,backing_store=/etc/shadow',
    '/kvm/store/../../etc/shadow',
    'kvm/store/a.qcow2',
    '/kvm//store/a.qcow2',
    '/kvm/./store/a.qcow2',
    '/kvm/store/',
    '/kvm/store/a b.qcow2',
    '/kvm/store/a\nb',
    '/kvm/store/$(id)',
    '/kvm/store/a"b',
  ];
  it.each(PATH_FIELDS.flatMap(([field, make]) => BAD_PATHS.map((p) => ({ field, make, p }))))('builder refuses $field = $p', ({ field, make, p }) => {
    expect(() => virtInstallCommand(make(p))).toThrow(expect.objectContaining({ name: 'UnsafeValueError', field }));
  });

  it.each([
    ['memoryMiB', cast({ ...good, memoryMiB: '256,foo=bar' })],
    ['maxMemoryMiB', cast({ ...good, maxMemoryMiB: 8 })],
    ['vcpus', cast({ ...good, vcpus: '1,maxvcpus=99' })],
    ['maxVcpus', cast({ ...good, maxVcpus: 1.5 })],
    ['disks[0].sizeGiB', cast({ ...good, disks: [{ ...goodDisk, create: true, sizeGiB: '1,backing_store=/etc/shadow' }] })],
    ['disks[0].format', cast({ ...good, disks: [{ ...goodDisk, format: 'qcow2,backing_store=/etc/shadow' }] })],
    ['disks[0].bus', cast({ ...good, disks: [{ ...goodDisk, bus: 'virtio,x=y' }] })],
    ['disks[0].create', cast({ ...good, disks: [{ ...goodDisk, create: 'yes' }] })],
    ['networks[0].model', cast({ ...good, networks: [{ network: 'default', model: 'e1000,mac=x' }] })],
    ['graphics.port', cast({ ...good, graphics: { type: 'vnc', listen: '127.0.0.1', port: '5900,password=x' } })],
    ['boot[0]', cast({ ...good, boot: ['hd,kernel=/etc/shadow'] })],
    ['virtType', cast({ ...good, virtType: 'kvm,foo' })],
    ['uri', cast({ ...good, uri: '--foo' })],
    ['uri', cast({ ...good, uri: 'qemu:///system x' })],
    ['uuid', cast({ ...good, uuid: 'x,y=z' })],
    ['autostart', cast({ ...good, autostart: 'true' })],
  ])('builder refuses a bad %s cast past the types', (field, spec) => {
    expect(() => virtInstallCommand(spec)).toThrow(expect.objectContaining({ name: 'UnsafeValueError', field }));
  });

  it('never puts the value into the error message (it may be a password)', () => {
    try {
      virtInstallCommand({ ...good, graphics: { type: 'vnc', listen: '127.0.0.1', password: 'hunter2,x=y' } });
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(UnsafeValueError);
      expect(String(e)).not.toContain('hunter2');
    }
  });
});

// ---- the real virt-install 4.1, --print-xml against qemu:///system (TCG: --virt-type qemu) ----

const runner = new NodeCommandRunner({ baseEnv: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' } });
const SYSTEM = 'qemu:///system';
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['boot', 'disk', 'interface', 'domain'].includes(name) });

interface XmlNode {
  [key: string]: unknown;
}

async function printXml(spec: VirtInstallSpec): Promise<XmlNode[]> {
  const result = assertSucceeded(await runner.run(virtInstallPrintXml(spec), { timeoutMs: 30_000 }));
  return splitPrintedDomains(result.stdout).flatMap((doc) => (xml.parse(doc) as { domain: XmlNode[] }).domain);
}

async function poolNames(): Promise<string[]> {
  const result = assertSucceeded(await runner.run(virsh(SYSTEM, 'pool-list', '--all', '--name')));
  return result.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

const at = (node: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((n, k) => (n as XmlNode | undefined)?.[k], node);
const list = (node: unknown, ...keys: string[]): XmlNode[] => (at(node, ...keys) as XmlNode[] | undefined) ?? [];

describe('virt-install --print-xml (real, qemu:///system)', () => {
  let dir: string;
  let pool: string;
  let poolsBefore: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vf-print-'));
    await chmod(dir, 0o755);
    await Promise.all(['disk0.qcow2', 'install.iso', 'vmlinuz', 'initrd.img'].map((f) => writeFile(join(dir, f), '')));
    // A "raw" disk whose bytes are a qcow2 header, as a guest could write into its own raw disk.
    assertSucceeded(await runner.run(qemuImgCreate({ path: join(dir, 'headered.img'), format: 'qcow2', sizeBytes: 1024 * 1024 })));
    poolsBefore = await poolNames();
    // virt-install auto-creates a persistent, autostarted pool for a disk's or ISO's directory
    // that no pool covers, even with --dry-run. A transient pool of our own covers it and is
    // gone when destroyed.
    pool = basename(dir);
    assertSucceeded(await runner.run(virsh(SYSTEM, 'pool-create-as', pool, 'dir', '--target', dir)));
  });

  afterAll(async () => {
    await runner.run(virsh(SYSTEM, 'pool-destroy', pool));
    await rm(dir, { recursive: true, force: true });
  });

  const resolved = (spec: Omit<VirtInstallSpec, 'uri' | 'uuid' | 'virtType'>): VirtInstallSpec => ({
    ...spec,
    uri: SYSTEM,
    uuid: UUID,
    virtType: 'qemu',
  });

  it('cdrom, new + existing disk, vnc on 127.0.0.1 with autoport, two NICs, boot order, cpuset, maxima, serial log, uuid', async () => {
    const payload = createVmPayload.parse({
      name: 'vf-print-cdrom',
      memoryMiB: 128,
      maxMemoryMiB: 512,
      vcpus: 2,
      maxVcpus: 4,
      cpuset: '0-1,3',
      install: { kind: 'cdrom', iso: 'install.iso' },
      disks: [{ name: 'disk0.qcow2' }, { name: 'disk1.raw', format: 'raw', bus: 'sata', sizeGiB: 1 }],
      networks: [
        { network: 'vf-print-net', model: 'e1000', mac: '52:54:00:12:34:56' },
        { bridge: 'vfprintbr0', model: 'e1000' },
      ],
      graphics: { type: 'vnc' },
      boot: ['hd', 'cdrom'],
      autostart: true,
    });
    const [install, final] = await printXml(
      resolved({
        ...payload,
        disks: payload.disks.map((d) => ({ ...d, path: join(dir, d.name), create: d.sizeGiB !== undefined })),
        isoPath: join(dir, 'install.iso'),
        serialLogPath: join(dir, 'serial.log'),
      }),
    );

    // The install boot starts from the cdrom and stops on reboot; the defined domain boots as asked.
    expect(list(install, 'os', 'boot').map((b) => b['dev'])).toEqual(['cdrom', 'hd']);
    expect(at(install, 'on_reboot')).toBe('destroy');
    expect(list(final, 'os', 'boot').map((b) => b['dev'])).toEqual(['hd', 'cdrom']);
    expect(at(final, 'on_reboot')).toBeUndefined();

    expect(at(final, 'uuid')).toBe(UUID);
    expect(at(final, 'memory')).toBe(512 * 1024);
    expect(at(final, 'currentMemory')).toBe(128 * 1024);
    expect(at(final, 'vcpu')).toEqual({ '#text': 4, current: '2', cpuset: '0-1,3' });

    const disks = list(install, 'devices', 'disk');
    expect(disks.map((d) => [d['device'], at(d, 'source', 'file'), at(d, 'driver', 'type'), at(d, 'target', 'bus')])).toEqual([
      ['disk', join(dir, 'disk0.qcow2'), 'qcow2', 'virtio'],
      ['disk', join(dir, 'disk1.raw'), 'raw', 'sata'],
      ['cdrom', join(dir, 'install.iso'), 'raw', 'ide'],
    ]);

    const nics = list(final, 'devices', 'interface');
    expect(nics.map((n) => [n['type'], at(n, 'source', 'network') ?? at(n, 'source', 'bridge'), at(n, 'model', 'type')])).toEqual([
      ['network', 'vf-print-net', 'e1000'],
      ['bridge', 'vfprintbr0', 'e1000'],
    ]);
    expect(at(nics[0], 'mac', 'address')).toBe('52:54:00:12:34:56');

    // port -1 is autoport; libvirt writes autoport='yes' when it defines the domain.
    expect(at(final, 'devices', 'graphics')).toMatchObject({ type: 'vnc', listen: '127.0.0.1', port: '-1' });
    expect(at(final, 'devices', 'serial')).toMatchObject({ type: 'pty', log: { file: join(dir, 'serial.log') } });

    // --dry-run: the size= disk was not allocated.
    expect((await readdir(dir)).sort()).toEqual(['disk0.qcow2', 'headered.img', 'initrd.img', 'install.iso', 'vmlinuz']);
  });

  it('keeps the format we pinned for an existing disk, whatever its header says', async () => {
    const payload = createVmPayload.parse({
      name: 'vf-print-import',
      memoryMiB: 64,
      vcpus: 1,
      install: { kind: 'import' },
      disks: [{ name: 'headered.img', format: 'raw' }, { name: 'disk0.qcow2' }],
      serial: false,
    });
    const [domain, ...more] = await printXml(resolved({ ...payload, disks: payload.disks.map((d) => ({ ...d, path: join(dir, d.name), create: false })) }));
    expect(more).toEqual([]);
    // disk0.qcow2 is an empty file (probed raw) declared qcow2: driver.type wins there too.
    expect(list(domain, 'devices', 'disk').map((d) => at(d, 'driver', 'type'))).toEqual(['raw', 'qcow2']);
  });

  it('direct kernel boot: the command line keeps "=", spaces and commas, and cannot set another key', async () => {
    const cmdline = 'console=ttyS0,115200 root=/dev/vda panic=-1 x=a,kernel=/etc/shadow';
    const payload = createVmPayload.parse({
      name: 'vf-print-kernel',
      memoryMiB: 64,
      vcpus: 1,
      install: { kind: 'kernel', kernel: 'vmlinuz', initrd: 'initrd.img', cmdline },
      serial: false,
      boot: ['hd'],
    });
    const [domain, ...more] = await printXml(
      resolved({ ...payload, disks: [], kernelPath: join(dir, 'vmlinuz'), initrdPath: join(dir, 'initrd.img') }),
    );
    expect(more).toEqual([]);
    expect(at(domain, 'os', 'kernel')).toBe(join(dir, 'vmlinuz'));
    expect(at(domain, 'os', 'initrd')).toBe(join(dir, 'initrd.img'));
    expect(at(domain, 'os', 'cmdline')).toBe(cmdline);
    expect(list(domain, 'devices', 'disk')).toEqual([]);
  });

  it('pxe boots from the network first', async () => {
    const payload = createVmPayload.parse({
      name: 'vf-print-pxe',
      memoryMiB: 64,
      vcpus: 1,
      install: { kind: 'pxe' },
      networks: [{ network: 'vf-print-net' }],
      graphics: { type: 'vnc', listen: '::1', port: 5999, password: 'pw1' },
      serial: false,
    });
    const [install, final] = await printXml(resolved({ ...payload, disks: [] }));
    expect(list(install, 'os', 'boot').map((b) => b['dev'])).toEqual(['network']);
    expect(at(final, 'devices', 'graphics')).toMatchObject({ type: 'vnc', listen: '::1', port: '5999', passwd: 'pw1' });
  });

  it('left no pool behind', async () => {
    assertSucceeded(await runner.run(virsh(SYSTEM, 'pool-destroy', pool)));
    const after = await poolNames();
    expect(after).not.toContain(pool);
    expect(after.filter((p) => !poolsBefore.includes(p)).filter((p) => p.startsWith('vf-print'))).toEqual([]);
  });
});
