import type { Command } from 'commander';
import { VirtfleetClient } from '@virtfleet/sdk';
import { fromFlagsOrEnv, saveCredentials } from '../config/credentials';
import { CLI_VERSION, cliErrorOf } from '../context';
import { CliError, EXIT } from '../exit-codes';

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('Store the API URL and a token (--url, --token) in your config folder, mode 0600, after checking them')
    .addHelpText('after', '\nExample:\n  virtfleet login --url http://127.0.0.1:8080 --token vft_…   (after npm run up: source .virtfleet/env)')
    .action(async () => {
      const given = fromFlagsOrEnv(program.opts<{ url?: string; token?: string }>());
      if (!given) throw new CliError(EXIT.usage, 'login needs --url and --token (or VIRTFLEET_URL and VIRTFLEET_TOKEN)');
      const { url, token } = given;
      const vf = new VirtfleetClient({ url, token, userAgent: `virtfleet-cli/${CLI_VERSION}` });
      try {
        await vf.hosts.list(); // a read call: the token must be good, not only the URL
      } catch (err) {
        throw cliErrorOf(err);
      }
      const path = await saveCredentials({ url, token });
      process.stdout.write(`logged in to ${url} (saved in ${path})\n`);
    });
}
