import { buildProgram } from '../program';
import { complete } from './completion';

// Completion walks the command tree the CLI itself is built from.

describe('shell completion', () => {
  const at = (...words: string[]) => complete(buildProgram(), words);

  it('offers the commands, then a group’s subcommands, never the hidden ones', () => {
    const top = at('');
    expect('words' in top && top.words).toEqual(expect.arrayContaining(['login', 'hosts', 'vms', 'snapshots', 'disks', 'networks', 'jobs', 'tokens', 'completion']));
    expect('words' in top && top.words).not.toContain('__complete');
    const vms = at('vms', '');
    expect('words' in vms && vms.words).toEqual(expect.arrayContaining(['ls', 'create', 'start', 'shutdown', 'clone', 'set-vcpus', 'console', 'xml']));
  });

  it('offers a command’s options, the global ones too, after global options before it', () => {
    const o = at('--json', 'disks', 'create', 'd1', '--');
    expect('words' in o && o.words).toEqual(expect.arrayContaining(['--size', '--format', '--wait', '--timeout', '--json', '--url']));
  });

  it('offers an option’s choices, and names from the API for VMs, hosts, disks and networks', () => {
    expect(at('disks', 'create', 'd1', '--format', '')).toEqual({ words: ['qcow2', 'raw'] });
    expect(at('vms', 'start', '')).toEqual({ dynamic: 'vm' });
    expect(at('--url', 'http://x', 'vms', 'shutdown', 'w')).toEqual({ dynamic: 'vm' });
    expect(at('hosts', 'show', '')).toEqual({ dynamic: 'host' });
    expect(at('disks', 'resize', '')).toEqual({ dynamic: 'disk' });
    expect(at('vms', 'ls', '--host', '')).toEqual({ dynamic: 'host' });
    expect(at('networks', 'stop', '')).toEqual({ dynamic: 'network' });
    expect(at('completion', '')).toEqual({ words: ['bash', 'zsh', 'fish'] });
    // A value nobody can guess: nothing.
    expect(at('disks', 'create', '')).toEqual({ words: [] });
  });
});
