import { Command } from 'commander';
import { registerCompletion } from './commands/completion';
import { registerDisks } from './commands/disks';
import { registerHosts } from './commands/hosts';
import { registerJobs } from './commands/jobs';
import { registerLogin } from './commands/login';
import { registerNetworks } from './commands/networks';
import { registerSnapshots } from './commands/snapshots';
import { registerTokens } from './commands/tokens';
import { registerVms } from './commands/vms';
import { CLI_VERSION, context } from './context';

/** The `virtfleet` command tree. Built fresh per run (tests run many in one process). */
export function buildProgram(): Command {
  const program = new Command('virtfleet')
    .description('Run a fleet of KVM hosts as one system: hosts, VMs, disks, networks and their jobs.')
    .version(CLI_VERSION)
    .option('--json', 'print JSON (for scripts and jq) instead of tables')
    .option('--url <url>', 'API URL (default: $VIRTFLEET_URL, then `virtfleet login`)')
    .option('--token <token>', 'API token (default: $VIRTFLEET_TOKEN, then `virtfleet login`)')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 the job failed, 2 usage error, 3 API unreachable, 4 API error, 5 --wait timed out.

Examples:
  virtfleet login --url http://127.0.0.1:8080 --token vft_…
  virtfleet hosts ls
  virtfleet disks create d1 --size 1G --wait
  virtfleet vms create web1 --memory 1024 --vcpus 2 --disk size=20 --network network=nat0 --cdrom debian.iso --wait
  virtfleet jobs watch <job-id>
  virtfleet vms ls --json | jq -r '.[].name'
  source <(virtfleet completion bash)`,
    );
  const ctx = context(program);
  registerLogin(program);
  registerHosts(program, ctx);
  registerVms(program, ctx);
  registerSnapshots(program, ctx);
  registerDisks(program, ctx);
  registerNetworks(program, ctx);
  registerJobs(program, ctx);
  registerTokens(program, ctx);
  registerCompletion(program, ctx);
  return program;
}
