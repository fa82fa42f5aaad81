import { hostQueueName, isJobType, jobCatalog, jobTypes } from './catalog';
import { createDiskJob } from './jobs/create-disk.job';
import { inspectDiskJob } from './jobs/inspect-disk.job';
import { refreshHostJob } from './jobs/refresh-host.job';

describe('jobCatalog', () => {
  it('holds the known job types', () => {
    expect([...jobTypes].sort()).toEqual([
      'attach-interface',
      'clone-vm',
      'convert-disk',
      'create-disk',
      'create-snapshot',
      'create-vm',
      'define-network',
      'define-vm',
      'delete-disk',
      'delete-snapshot',
      'destroy-vm',
      'detach-interface',
      'guest-disk-usage',
      'inspect-disk',
      'list-guest-filesystems',
      'noop',
      'read-guest-file',
      'reboot-vm',
      'refresh-host',
      'resize-disk',
      'resume-vm',
      'revert-snapshot',
      'set-autostart',
      'set-memory',
      'set-network-autostart',
      'set-vcpus',
      'shutdown-vm',
      'sleep',
      'start-network',
      'start-vm',
      'stop-network',
      'suspend-vm',
      'undefine-network',
      'undefine-vm',
      'write-guest-file',
    ]);
    expect(Object.keys(jobCatalog).sort()).toEqual([...jobTypes].sort());
  });

  it('maps each type to its definition', () => {
    expect(jobCatalog['create-disk']).toBe(createDiskJob);
    expect(jobCatalog['inspect-disk']).toBe(inspectDiskJob);
    expect(jobCatalog['refresh-host']).toBe(refreshHostJob);
  });

  it.each(Object.entries(jobCatalog))('%s: name equals its key, positive time-out and attempts', (key, def) => {
    expect(def.name).toBe(key);
    expect(def.summary.length).toBeGreaterThan(0);
    expect(Number.isInteger(def.timeoutMs)).toBe(true);
    expect(def.timeoutMs).toBeGreaterThan(0);
    expect(Number.isInteger(def.attempts)).toBe(true);
    expect(def.attempts).toBeGreaterThan(0);
  });

  it('is frozen, and so are its definitions', () => {
    expect(Object.isFrozen(jobCatalog)).toBe(true);
    for (const def of Object.values(jobCatalog)) expect(Object.isFrozen(def)).toBe(true);
  });
});

describe('isJobType', () => {
  it.each(['create-disk', 'inspect-disk', 'refresh-host'])('accepts %s', (t) => {
    expect(isJobType(t)).toBe(true);
  });

  it.each(['', 'create_disk', 'CREATE-DISK', 'delete-disks', 'toString', '__proto__', 'constructor', 'hasOwnProperty'])(
    'refuses %j',
    (t) => {
      expect(isJobType(t)).toBe(false);
    },
  );
});

describe('hostQueueName', () => {
  it('is the host id in a hash tag', () => {
    expect(hostQueueName('abc')).toBe('{host-abc}');
    expect(hostQueueName('3f1c2d9e-8a7b-4c6d-9e0f-1a2b3c4d5e6f')).toBe('{host-3f1c2d9e-8a7b-4c6d-9e0f-1a2b3c4d5e6f}');
  });
});
