import { randomUUID } from 'node:crypto';
import {
  createSnapshotJob,
  deleteSnapshotJob,
  revertSnapshotJob,
  type DomainInventory,
  type JobPayload,
  type JobPayloadInput,
} from '@virtfleet/contracts';
import { CommandFailedError, FakeRunner, type FakeOutcome } from '@virtfleet/exec';
import { JobContext } from '../job-context';
import { JobFailure } from '../job-failure';
import { SnapshotHandlers } from './snapshots';

const URI = 'qemu:///system';
const VM_UUID = '5b3c3a6e-2f4e-4b7a-9c1d-0a1b2c3d4e5f';
const MISSING_UUID = '0d6f5a8e-7c2b-4e1a-8f3d-9a8b7c6d5e4f';
const VM = { uuid: VM_UUID, name: 'vm1' };

// ---------------------------------------------------------------------------------------------
// An emulated libvirt host behind FakeRunner: what actOnDomain (libs/libvirt inventory.ts) runs in
// its batch, the snapshot command first, shaped like real virsh 9.0 under -q (messages from
// test:///default, qemu:///system and the host reference §8): success prints nothing; an unknown
// snapshot is "Domain snapshot not found: …"; a taken name "domain moment NAME already exists"; a
// raw disk "unsupported configuration: internal snapshot for disk vda unsupported for storage type
// raw", before anything is done. The batch script is split into words as virsh's own parser does
// for what we send: single quotes keep everything, `'\''` included; `;` between commands.
// ---------------------------------------------------------------------------------------------

type FakeState = 'running' | 'paused' | 'shutoff';

interface FakeSnapshot {
  name: string;
  state: FakeState;
  description?: string;
  parent?: string;
  creationTime: number;
}

interface FakeDomain {
  uuid: string;
  name: string;
  state: FakeState;
  /** domstats state.reason: 1 booted / shutdown; 4 running from snapshot; 7 shut off from snapshot. */
  reason: number;
  diskFormat: string;
  snapshots: FakeSnapshot[];
  current?: string;
}

const STATE_NUMBER: Record<FakeState, number> = { running: 1, paused: 3, shutoff: 5 };
const FROM_SNAPSHOT: Record<FakeState, number> = { running: 4, paused: 7, shutoff: 7 };

type Answer = { out?: string; err?: string };

function domainXml(d: FakeDomain): string {
  return [
    `<domain type='qemu'${d.state !== 'shutoff' ? " id='7'" : ''}>`,
    `  <name>${d.name}</name>`,
    `  <uuid>${d.uuid}</uuid>`,
    "  <memory unit='KiB'>262144</memory>",
    "  <currentMemory unit='KiB'>262144</currentMemory>",
    "  <vcpu placement='static'>1</vcpu>",
    "  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>",
    '  <devices>',
    "    <disk type='file' device='disk'>",
    `      <driver name='qemu' type='${d.diskFormat}'/>`,
    `      <source file='/kvm/store/${d.name}.${d.diskFormat}'/>`,
    "      <target dev='vda' bus='virtio'/>",
    '    </disk>',
    '  </devices>',
    '</domain>',
    '',
  ].join('\n');
}

const xmlEscape = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

function snapshotXml(s: FakeSnapshot): string {
  return [
    '<domainsnapshot>',
    `  <name>${s.name}</name>`,
    ...(s.description ? [`  <description>${xmlEscape(s.description)}</description>`] : []),
    `  <state>${s.state}</state>`,
    ...(s.parent ? ['  <parent>', `    <name>${s.parent}</name>`, '  </parent>'] : []),
    `  <creationTime>${s.creationTime}</creationTime>`,
    '</domainsnapshot>',
    '',
  ].join('\n');
}

/** A batch script as virsh's parser splits it: commands of words. */
function parseScript(script: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < script.length; i++) {
    const c = script[i] ?? '';
    if (c === "'") {
      const close = script.indexOf("'", i + 1);
      if (close < 0) throw new Error(`unterminated quote in: ${script}`);
      word = (word ?? '') + script.slice(i + 1, close);
      i = close;
    } else if (c === '\\') {
      word = (word ?? '') + (script[++i] ?? '');
    } else if (c === ' ' || c === ';') {
      if (word !== undefined) words.push(word);
      word = undefined;
      if (c === ';') {
        commands.push(words);
        words = [];
      }
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  commands.push(words);
  return commands.filter((w) => w.length > 0);
}

const SNAPSHOT_ACTIONS = new Set(['snapshot-create-as', 'snapshot-revert', 'snapshot-delete']);

class FakeLibvirt {
  readonly domains = new Map<string, FakeDomain>();
  /** Runs just before a snapshot command: something else changes the host in the meantime. */
  meanwhile: ((d: FakeDomain) => void) | undefined;
  /** Runs just after it, before the read in the same batch. */
  afterwards: ((d: FakeDomain) => void) | undefined;
  /** The next snapshot-create-as fails with this stderr. */
  createFails: string | undefined;
  /** Snapshot commands that changed something, as their words, in order. */
  readonly changes: string[][] = [];

  add(d: Partial<FakeDomain> = {}): FakeDomain {
    const dom: FakeDomain = { ...VM, state: 'running', reason: 1, diskFormat: 'qcow2', snapshots: [], ...d };
    this.domains.set(dom.uuid, dom);
    return dom;
  }

  readonly virsh = (argv: readonly string[]): FakeOutcome => {
    expect(argv.slice(0, 4)).toEqual(['virsh', '-q', '-c', URI]);
    const words = argv.slice(4);
    if (words.length !== 1 || !words[0]?.startsWith('echo ')) throw new Error(`emulated virsh: every command comes in a batch, not ${words.join(' ')}`);
    let stdout = '';
    let stderr = '';
    for (const command of parseScript(words[0])) {
      const a: Answer = command[0] === 'echo' ? { out: command.slice(1).join(' ') } : this.batchCommand(command);
      stdout += a.out ?? '';
      stderr += a.err ? `${a.err}\n` : '';
    }
    return { stdout, stderr, exitCode: 0 };
  };

  private gone(id: string): Answer {
    return { err: `error: failed to get domain '${id}'` };
  }

  private batchCommand(words: readonly string[]): Answer {
    const [cmd = '', ...rest] = words;
    const line = words.join(' ');
    if (line === 'list --all --autostart --uuid') return { out: '' };
    if (line === 'list --all --persistent --uuid') return { out: [...this.domains.keys()].map((u) => `${u}\n`).join('') };
    const opt = (name: string) => (rest.includes(name) ? rest[rest.indexOf(name) + 1] : undefined);
    const id = opt('--domain') ?? rest.find((w) => !w.startsWith('--')) ?? '';
    const d = this.domains.get(id);
    if (!d) return this.gone(id);
    if (SNAPSHOT_ACTIONS.has(cmd)) {
      this.meanwhile?.(d);
      const a = this.snapshotAction(d, cmd, opt);
      if (!a.err) this.changes.push([...words]);
      this.afterwards?.(d);
      return a;
    }
    switch (line.replace(id, 'U')) {
      case 'dumpxml U':
        return { out: domainXml(d) };
      case 'domstats --state U':
        return { out: `Domain: '${d.name}'\n  state.state=${STATE_NUMBER[d.state]}\n  state.reason=${d.reason}\n` };
      case 'snapshot-list U --name':
        return { out: d.snapshots.map((s) => `${s.name}\n`).join('') + '\n' };
      case 'snapshot-current U --name':
        return d.current ? { out: d.current } : { err: `error: domain '${d.name}' has no current snapshot` };
    }
    if (cmd === 'snapshot-dumpxml') {
      const name = opt('--snapshotname') ?? '';
      const snap = d.snapshots.find((s) => s.name === name);
      return snap ? { out: snapshotXml(snap) } : this.notFound(name);
    }
    throw new Error(`emulated virsh has no answer for batch command: ${line}`);
  }

  private snapshotAction(d: FakeDomain, cmd: string, opt: (name: string) => string | undefined): Answer {
    switch (cmd) {
      case 'snapshot-create-as':
        return this.create(d, opt('--name') ?? '', opt('--description'));
      case 'snapshot-revert':
        return this.revert(d, opt('--snapshotname') ?? '');
      default:
        return this.remove(d, opt('--snapshotname') ?? '');
    }
  }

  private notFound(name: string): Answer {
    return { err: `error: Domain snapshot not found: no domain snapshot with matching name '${name}'` };
  }

  private create(d: FakeDomain, name: string, description: string | undefined): Answer {
    if (this.createFails) return { err: this.createFails };
    if (d.diskFormat !== 'qcow2') return { err: `error: unsupported configuration: internal snapshot for disk vda unsupported for storage type ${d.diskFormat}` };
    if (d.snapshots.some((s) => s.name === name)) return { err: `error: operation failed: domain moment ${name} already exists` };
    d.snapshots.push({ name, state: d.state, creationTime: 1795618441, ...(description ? { description } : {}), ...(d.current ? { parent: d.current } : {}) });
    d.current = name;
    return {};
  }

  private revert(d: FakeDomain, name: string): Answer {
    const snap = d.snapshots.find((s) => s.name === name);
    if (!snap) return this.notFound(name);
    d.state = snap.state;
    d.reason = FROM_SNAPSHOT[snap.state];
    d.current = name;
    return {};
  }

  private remove(d: FakeDomain, name: string): Answer {
    if (!d.snapshots.some((s) => s.name === name)) return this.notFound(name);
    d.snapshots = d.snapshots.filter((s) => s.name !== name);
    if (d.current === name) delete d.current;
    return {};
  }
}

// ---------------------------------------------------------------------------------------------

describe('SnapshotHandlers', () => {
  let host: FakeLibvirt;
  let runner: FakeRunner;
  let ctx: JobContext;
  let published: DomainInventory[];
  let snapshots: SnapshotHandlers;

  beforeEach(() => {
    host = new FakeLibvirt();
    runner = new FakeRunner().on('virsh', host.virsh);
    ctx = new JobContext(randomUUID(), 1, new AbortController().signal, runner, { report: async () => 'applied' });
    published = [];
    snapshots = new SnapshotHandlers({
      uri: URI,
      publishDomain: async (domain) => {
        published.push(domain);
      },
    });
  });

  /** Snapshot commands that changed something. */
  const changes = () => host.changes;
  const processes = () => runner.calls.filter((a) => a[0] === 'virsh').length;
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the handler to fail');
      },
      (e: unknown) => e,
    );
  const names = (d: DomainInventory | undefined) => d?.snapshots.map((s) => s.name);

  const createPayload = (input: Partial<JobPayloadInput<'create-snapshot'>> = {}): JobPayload<'create-snapshot'> =>
    createSnapshotJob.payload.parse({ vm: VM, ...input });
  const revertPayload = (name: string): JobPayload<'revert-snapshot'> => revertSnapshotJob.payload.parse({ vm: VM, name });
  const deletePayload = (name: string): JobPayload<'delete-snapshot'> => deleteSnapshotJob.payload.parse({ vm: VM, name });

  describe('payloads', () => {
    it('take a safe name and a description without control characters', () => {
      expect(createSnapshotJob.payload.safeParse({ vm: VM }).success).toBe(true);
      expect(createSnapshotJob.payload.safeParse({ vm: VM, name: 's-run1', description: '--looks like; an option' }).success).toBe(true);
      expect(createSnapshotJob.payload.safeParse({ vm: VM, name: '-rf' }).success).toBe(false);
      expect(createSnapshotJob.payload.safeParse({ vm: VM, name: 'a/b' }).success).toBe(false);
      expect(createSnapshotJob.payload.safeParse({ vm: VM, description: 'two\nlines' }).success).toBe(false);
      expect(createSnapshotJob.payload.safeParse({ vm: VM, description: 'x'.repeat(1001) }).success).toBe(false);
      expect(revertSnapshotJob.payload.safeParse({ vm: VM }).success).toBe(false);
      expect(deleteSnapshotJob.payload.safeParse({ vm: VM, name: "it's" }).success).toBe(false);
    });

    it('lock the VM', () => {
      expect(createSnapshotJob.lockKey?.(createPayload())).toBe('vm:vm1');
      expect(revertSnapshotJob.lockKey?.(revertPayload('s1'))).toBe('vm:vm1');
      expect(deleteSnapshotJob.lockKey?.(deletePayload('s1'))).toBe('vm:vm1');
    });
  });

  describe('create-snapshot', () => {
    it('takes an internal snapshot of a running VM by UUID, then reads, publishes and returns the domain', async () => {
      host.add({ state: 'running' });
      const result = await snapshots.createSnapshot(createPayload({ name: 's-run1', description: 'running snapshot' }), ctx);

      expect(changes()).toEqual([['snapshot-create-as', '--domain', VM_UUID, '--name', 's-run1', '--description', 'running snapshot']]);
      expect(processes()).toBe(1); // the create, the read and the new snapshot's XML in one virsh
      expect(result).toMatchObject({
        created: true,
        snapshot: { name: 's-run1', state: 'running', description: 'running snapshot', current: true, createdAt: '2026-11-25T14:54:01.000Z' },
        domain: { uuid: VM_UUID, state: 'running' },
      });
      expect(names(result.domain)).toEqual(['s-run1']);
      expect(names(published[0])).toEqual(['s-run1']);
      expect(published).toHaveLength(1);
      expect(createSnapshotJob.result.parse(result)).toEqual(result);
    });

    it('on a shut-off VM records the state and the parent', async () => {
      host.add({ state: 'running' });
      await snapshots.createSnapshot(createPayload({ name: 's-run1' }), ctx);
      host.add({ ...host.domains.get(VM_UUID), state: 'shutoff' });
      const result = await snapshots.createSnapshot(createPayload({ name: 's-off1' }), ctx);
      expect(result.snapshot).toEqual({ name: 's-off1', state: 'shutoff', parent: 's-run1', current: true, createdAt: expect.any(String) });
      expect(result.domain.snapshots.find((s) => s.name === 's-run1')?.current).toBe(false);
    });

    it('names a snapshot by epoch seconds when no name is given, and leaves out an absent description', async () => {
      host.add();
      const before = Math.floor(Date.now() / 1000);
      const result = await snapshots.createSnapshot(createPayload(), ctx);
      const after = Math.floor(Date.now() / 1000);
      const name = Number(result.snapshot.name);
      expect(name).toBeGreaterThanOrEqual(before);
      expect(name).toBeLessThanOrEqual(after);
      expect(changes()).toEqual([['snapshot-create-as', '--domain', VM_UUID, '--name', result.snapshot.name]]);
    });

    it('returns an existing snapshot of that name untouched (a redelivered job)', async () => {
      host.add({ snapshots: [{ name: 's1', state: 'shutoff', creationTime: 1795618441 }], current: 's1' });
      const result = await snapshots.createSnapshot(createPayload({ name: 's1', description: 'other words' }), ctx);
      expect(result).toMatchObject({ created: false, snapshot: { name: 's1', state: 'shutoff' } });
      expect(changes()).toEqual([]);
      expect(published).toEqual([]);
    });

    it('counts a name taken between the read and the create as done', async () => {
      host.add();
      host.meanwhile = (d) => d.snapshots.push({ name: 's1', state: 'running', creationTime: 1795618441 });
      const result = await snapshots.createSnapshot(createPayload({ name: 's1' }), ctx);
      expect(result).toMatchObject({ created: false, snapshot: { name: 's1' } });
    });

    it('refuses a VM with a raw disk: libvirt does nothing, the read in its process names the disks', async () => {
      host.add({ diskFormat: 'raw' });
      const err = await failure(snapshots.createSnapshot(createPayload({ name: 's1' }), ctx));
      expect(err).toBeInstanceOf(JobFailure);
      expect(err).toMatchObject({ code: 'snapshot_unsupported', message: 'internal snapshots need qcow2 disks; vm1 has vda (raw)', details: { disks: ['vda'] } });
      expect(changes()).toEqual([]);
      expect(host.domains.get(VM_UUID)?.snapshots).toEqual([]);
      expect(published).toEqual([]);
    });

    it('passes on libvirt’s words when it refuses what our own check would allow', async () => {
      host.add();
      host.createFails = 'error: unsupported configuration: internal snapshot for disk vda unsupported for storage type block';
      const err = await failure(snapshots.createSnapshot(createPayload({ name: 's1' }), ctx));
      expect(err).toMatchObject({ code: 'snapshot_unsupported', message: 'vm1: unsupported configuration: internal snapshot for disk vda unsupported for storage type block' });
    });

    it('hands virsh’s batch parser a description with quotes, semicolons and options as one value', async () => {
      host.add();
      const description = `--name x ; snapshot-delete --domain ${VM_UUID} --snapshotname 'it''s' "dq" \\ # not a comment`;
      const result = await snapshots.createSnapshot(createPayload({ name: 's1', description }), ctx);
      expect(changes()).toEqual([['snapshot-create-as', '--domain', VM_UUID, '--name', 's1', '--description', description]]);
      expect(result.snapshot.description).toBe(description);
      expect(runner.calls[0]?.[4]).toContain(`snapshot-create-as '--domain' '${VM_UUID}' '--name' 's1' '--description' '--name x ; snapshot-delete`);
    });

    it('fails with vm_not_found for an unknown UUID', async () => {
      const err = await failure(snapshots.createSnapshot(createSnapshotJob.payload.parse({ vm: { uuid: MISSING_UUID, name: 'vm1' }, name: 's1' }), ctx));
      expect(err).toMatchObject({ code: 'vm_not_found' });
    });

    it('fails with the command for anything else virsh says', async () => {
      host.add();
      host.createFails = "error: internal error: unable to execute QEMU command 'savevm': Error while writing VM state: No space left on device";
      const err = await failure(snapshots.createSnapshot(createPayload({ name: 's1' }), ctx));
      expect(err).toBeInstanceOf(CommandFailedError);
      expect(String((err as Error).message)).toContain('No space left on device');
      expect(published).toEqual([]);
    });
  });

  describe('revert-snapshot', () => {
    const both = (): FakeSnapshot[] => [
      { name: 's-run1', state: 'running', creationTime: 1795618441 },
      { name: 's-off1', state: 'shutoff', parent: 's-run1', creationTime: 1795618500 },
    ];

    it('to a snapshot taken running: the VM runs again "from snapshot"', async () => {
      host.add({ state: 'shutoff', snapshots: both(), current: 's-off1' });
      const result = await snapshots.revertSnapshot(revertPayload('s-run1'), ctx);
      expect(changes()).toEqual([['snapshot-revert', '--domain', VM_UUID, '--snapshotname', 's-run1']]);
      expect(result).toMatchObject({ state: 'running', domain: { state: 'running', reason: 'from snapshot' }, snapshot: { name: 's-run1', current: true } });
      expect(published.map((d) => d.state)).toEqual(['running']);
      expect(revertSnapshotJob.result.parse(result)).toEqual(result);
    });

    it('to a snapshot taken shut off: the VM is shut off', async () => {
      host.add({ state: 'running', snapshots: both(), current: 's-run1' });
      const result = await snapshots.revertSnapshot(revertPayload('s-off1'), ctx);
      expect(result).toMatchObject({ state: 'shutoff', domain: { state: 'shutoff' }, snapshot: { name: 's-off1', current: true } });
    });

    it('fails with snapshot_not_found, and changes nothing', async () => {
      host.add({ state: 'running', snapshots: both(), current: 's-off1' });
      const err = await failure(snapshots.revertSnapshot(revertPayload('nosuch'), ctx));
      expect(err).toMatchObject({ code: 'snapshot_not_found', message: 'vm1 has no snapshot named nosuch' });
      expect(changes()).toEqual([]);
      expect(host.domains.get(VM_UUID)).toMatchObject({ state: 'running', current: 's-off1' });
      expect(published).toEqual([]);
    });

    it('tells the revert’s "not found" from the read’s own for the same name', async () => {
      host.add({ state: 'shutoff', snapshots: both(), current: 's-off1' });
      // Reverted, then deleted by someone before the read: only the read says "not found". The
      // revert happened (published), but the result cannot name the snapshot.
      host.afterwards = (d) => {
        d.snapshots = d.snapshots.filter((x) => x.name !== 's-run1');
      };
      const err = await failure(snapshots.revertSnapshot(revertPayload('s-run1'), ctx));
      expect(err).toMatchObject({ code: 'snapshot_not_found' });
      expect(changes()).toEqual([['snapshot-revert', '--domain', VM_UUID, '--snapshotname', 's-run1']]);
      expect(published.map((d) => d.state)).toEqual(['running']);
    });

    it('a revert that said "not found" fails even when the name exists by the time of the read', async () => {
      host.add({ snapshots: both() });
      host.afterwards = (d) => d.snapshots.push({ name: 'late', state: 'running', creationTime: 1795618600 });
      const err = await failure(snapshots.revertSnapshot(revertPayload('late'), ctx));
      expect(err).toMatchObject({ code: 'snapshot_not_found' });
      expect(changes()).toEqual([]);
      expect(published).toEqual([]);
    });
  });

  describe('delete-snapshot', () => {
    it('deletes it, then reads, publishes and returns the domain without it', async () => {
      host.add({ snapshots: [{ name: 's1', state: 'running', creationTime: 1795618441 }], current: 's1' });
      const result = await snapshots.deleteSnapshot(deletePayload('s1'), ctx);
      expect(changes()).toEqual([['snapshot-delete', '--domain', VM_UUID, '--snapshotname', 's1']]);
      expect(result).toMatchObject({ deleted: true, domain: { uuid: VM_UUID } });
      expect(names(result.domain)).toEqual([]);
      expect(names(published[0])).toEqual([]);
      expect(deleteSnapshotJob.result.parse(result)).toEqual(result);
    });

    it('a missing snapshot is deleted: false, with nothing changed', async () => {
      host.add();
      const result = await snapshots.deleteSnapshot(deletePayload('s1'), ctx);
      expect(result).toMatchObject({ deleted: false, domain: { uuid: VM_UUID } });
      expect(changes()).toEqual([]);
      expect(published).toEqual([]);
    });

    it('one deleted by someone else meanwhile is deleted: false', async () => {
      host.add({ snapshots: [{ name: 's1', state: 'running', creationTime: 1795618441 }] });
      host.meanwhile = (d) => {
        d.snapshots = [];
      };
      const result = await snapshots.deleteSnapshot(deletePayload('s1'), ctx);
      expect(result.deleted).toBe(false);
    });

    it('fails with vm_not_found for an unknown UUID', async () => {
      const err = await failure(snapshots.deleteSnapshot(deleteSnapshotJob.payload.parse({ vm: { uuid: MISSING_UUID, name: 'x' }, name: 's1' }), ctx));
      expect(err).toMatchObject({ code: 'vm_not_found' });
    });
  });

  describe('virsh processes', () => {
    it('one per job once the handler has seen the VM’s snapshots', async () => {
      host.add();
      await snapshots.createSnapshot(createPayload({ name: 's1' }), ctx);
      await snapshots.createSnapshot(createPayload({ name: 's2' }), ctx);
      await snapshots.revertSnapshot(revertPayload('s1'), ctx);
      const last = await snapshots.deleteSnapshot(deletePayload('s2'), ctx);
      expect(processes()).toBe(4);
      expect(last.domain.snapshots).toEqual([expect.objectContaining({ name: 's1', current: true })]);
      expect(published.map(names)).toEqual([['s1'], ['s1', 's2'], ['s1', 's2'], ['s1']]);
    });

    it('one more for snapshots it has not seen (made by hand), read in full all the same', async () => {
      host.add({ snapshots: [{ name: 'by-hand', state: 'running', description: 'made with virsh', creationTime: 1795618400 }], current: 'by-hand' });
      const result = await snapshots.createSnapshot(createPayload({ name: 's1' }), ctx);
      expect(processes()).toBe(2);
      expect(result.domain.snapshots).toEqual([
        { name: 'by-hand', state: 'running', description: 'made with virsh', createdAt: '2026-11-25T14:53:20.000Z', current: false },
        expect.objectContaining({ name: 's1', parent: 'by-hand', current: true }),
      ]);
      await snapshots.deleteSnapshot(deletePayload('s1'), ctx);
      expect(processes()).toBe(3);
    });

    it('a snapshot deleted by hand since the last job is only a harmless miss', async () => {
      host.add();
      await snapshots.createSnapshot(createPayload({ name: 's1' }), ctx);
      await snapshots.createSnapshot(createPayload({ name: 's2' }), ctx);
      const dom = host.domains.get(VM_UUID);
      if (dom) dom.snapshots = dom.snapshots.filter((x) => x.name !== 's1');
      const result = await snapshots.revertSnapshot(revertPayload('s2'), ctx);
      expect(names(result.domain)).toEqual(['s2']);
      expect(processes()).toBe(3);
    });
  });
});
