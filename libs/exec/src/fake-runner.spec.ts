import { assertSucceeded, CommandFailedError, type RunOptions } from './command';
import { FakeRunner } from './fake-runner';

const info = { cmd: 'qemu-img', args: ['info', '--output=json', '-f', 'qcow2', '/srv/d1.qcow2'] };

describe('FakeRunner', () => {
  it('records every argv in order', async () => {
    const fake = new FakeRunner().on([], {});
    await fake.run({ cmd: 'virsh', args: ['-q', 'list'] });
    await fake.run(info);
    expect(fake.calls).toEqual([
      ['virsh', '-q', 'list'],
      ['qemu-img', 'info', '--output=json', '-f', 'qcow2', '/srv/d1.qcow2'],
    ]);
  });

  it('answers with exit code 0 and empty output by default', async () => {
    const r = await new FakeRunner().on('qemu-img', {}).run(info);
    expect(r).toMatchObject({
      argv: ['qemu-img', 'info', '--output=json', '-f', 'qcow2', '/srv/d1.qcow2'],
      exitCode: 0,
      signal: null,
      stdout: '',
      stderr: '',
      timedOut: false,
      aborted: false,
    });
    expect(r.spawnError).toBeUndefined();
  });

  it('matches a string prefix against the program only', async () => {
    const fake = new FakeRunner().on('qemu-img', { stdout: 'img' });
    expect((await fake.run(info)).stdout).toBe('img');
    await expect(fake.run({ cmd: 'qemu-img-extra', args: [] })).rejects.toThrow(
      'FakeRunner: no responder for ["qemu-img-extra"]',
    );
  });

  it('matches an argv prefix element by element', async () => {
    const fake = new FakeRunner()
      .on(['qemu-img', 'info'], { stdout: 'info' })
      .on(['qemu-img', 'create'], { stdout: 'create' });
    expect((await fake.run(info)).stdout).toBe('info');
    expect((await fake.run({ cmd: 'qemu-img', args: ['create', '-q'] })).stdout).toBe('create');
    await expect(fake.run({ cmd: 'qemu-img', args: ['check'] })).rejects.toThrow('no responder');
  });

  it('does not match when the prefix is longer than the argv', async () => {
    const fake = new FakeRunner().on(['virsh', '-q', 'list', '--all'], {});
    await expect(fake.run({ cmd: 'virsh', args: ['-q', 'list'] })).rejects.toThrow('no responder');
  });

  it('lets a later registration win over an earlier one', async () => {
    const fake = new FakeRunner()
      .on('virsh', { stdout: 'general' })
      .on(['virsh', '-q', 'version'], { stdout: 'specific' });
    expect((await fake.run({ cmd: 'virsh', args: ['-q', 'version'] })).stdout).toBe('specific');
    expect((await fake.run({ cmd: 'virsh', args: ['-q', 'list'] })).stdout).toBe('general');

    // later wins even when it is the less specific one
    fake.on('virsh', { stdout: 'override' });
    expect((await fake.run({ cmd: 'virsh', args: ['-q', 'version'] })).stdout).toBe('override');
  });

  it('rejects an argv nobody answers for, and still records it', async () => {
    const fake = new FakeRunner();
    await expect(fake.run({ cmd: 'rm', args: ['-rf', '/'] })).rejects.toThrow(
      'FakeRunner: no responder for ["rm","-rf","/"]',
    );
    expect(fake.calls).toEqual([['rm', '-rf', '/']]);
  });

  it('hands argv and options to a responder function, which may be async', async () => {
    const seen: Array<{ argv: readonly string[]; options: RunOptions }> = [];
    const fake = new FakeRunner().on('qemu-img', async (argv, options) => {
      seen.push({ argv, options });
      return { stdout: argv.at(-1) ?? '' };
    });
    const r = await fake.run(info, { timeoutMs: 123 });
    expect(r.stdout).toBe('/srv/d1.qcow2');
    expect(seen).toEqual([
      { argv: ['qemu-img', 'info', '--output=json', '-f', 'qcow2', '/srv/d1.qcow2'], options: { timeoutMs: 123 } },
    ]);
  });

  it('passes scripted output to onStdout and onStderr', async () => {
    const out: string[] = [];
    const err: string[] = [];
    await new FakeRunner()
      .on('virt-install', { stdout: 'Starting install...\n', stderr: 'WARNING  x\n' })
      .run({ cmd: 'virt-install', args: [] }, { onStdout: (c) => out.push(c), onStderr: (c) => err.push(c) });
    expect(out).toEqual(['Starting install...\n']);
    expect(err).toEqual(['WARNING  x\n']);
  });

  it('scripts failures: exit code, signal and spawn error', async () => {
    const fake = new FakeRunner()
      .on('a', { exitCode: 1, stderr: 'boom\n' })
      .on('b', { exitCode: null, signal: 'SIGKILL' })
      .on('c', { spawnError: 'ENOENT: spawn c ENOENT', exitCode: 0 });

    const a = await fake.run({ cmd: 'a', args: [] });
    expect(() => assertSucceeded(a)).toThrow('a exited with code 1: boom');

    const b = await fake.run({ cmd: 'b', args: [] });
    expect(b).toMatchObject({ exitCode: null, signal: 'SIGKILL' });

    const c = await fake.run({ cmd: 'c', args: [] });
    expect(c).toMatchObject({ exitCode: null, spawnError: 'ENOENT: spawn c ENOENT' });
    expect(() => assertSucceeded(c)).toThrow(CommandFailedError);
  });

  it('reports aborted when the signal is aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await new FakeRunner().on([], {}).run(info, { signal: ac.signal });
    expect(r.aborted).toBe(true);
  });
});
