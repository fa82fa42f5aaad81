import { Option, type Command } from 'commander';
import type { Scope } from '@virtfleet/sdk';
import type { Ctx } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { printObject, printTable } from '../output';

const SCOPES: Scope[] = ['read', 'operate', 'admin'];

export function registerTokens(program: Command, ctx: Ctx): void {
  program
    .command('whoami')
    .description('The token in use: its name, id and scopes (any scope may ask)')
    .addHelpText('after', '\nExample:\n  virtfleet whoami')
    .action(async () => {
      const me = await ctx.call((vf) => vf.whoami());
      printObject(
        ctx.out(),
        [
          ['name', me.name],
          ['id', me.tokenId],
          ['scopes', me.scopes.join(',')],
        ],
        me,
      );
    });
  const tokens = program.command('tokens').description('API tokens (admin): read ⊂ operate ⊂ admin');
  tokens
    .command('ls')
    .description('Every API token: scopes, last use, revoked or not (never the token itself)')
    .addHelpText('after', '\nExample:\n  virtfleet tokens ls')
    .action(async () => {
      const items = await ctx.call((vf) => vf.tokens.list());
      printTable(ctx.out(), items, [
        ['NAME', (t) => t.name],
        ['SCOPES', (t) => t.scopes.join(',')],
        ['CREATED', (t) => t.createdAt],
        ['LAST USED', (t) => t.lastUsedAt],
        ['REVOKED', (t) => t.revokedAt],
        ['ID', (t) => t.id],
      ]);
    });
  tokens
    .command('create <name>')
    .description('A new API token; it is printed once, so store it now')
    .addOption(new Option('--scope <scope>', 'read: look only; operate: run jobs; admin: tokens, hosts, webhooks too').choices(SCOPES).default('read'))
    .addHelpText('after', '\nExamples:\n  virtfleet tokens create grafana --scope read\n  virtfleet --json tokens create ci --scope operate | jq -r .token')
    .action(async (name: string, o: { scope: Scope }) => {
      const made = await ctx.call((vf) => vf.tokens.create({ name, scopes: [o.scope] }));
      printObject(
        ctx.out(),
        [
          ['name', made.name],
          ['id', made.id],
          ['scopes', made.scopes.join(',')],
          ['token', made.token],
        ],
        made,
      );
      if (!ctx.out().json) process.stderr.write('The token is shown only this once.\n');
    });
  tokens
    .command('revoke <token>')
    .description('Revoke a token by name or id: it stops working at once')
    .addHelpText('after', '\nExample:\n  virtfleet tokens revoke grafana')
    .action(async (ref: string) => {
      const id = await ctx.call(async (vf) => {
        const found = (await vf.tokens.list()).filter((t) => (t.id === ref || t.name === ref) && !t.revokedAt);
        const [token] = found;
        if (!token || found.length > 1) {
          throw new CliError(token ? EXIT.usage : EXIT.apiError, token ? `${found.length} live tokens match ${ref}: give its id` : `no live token ${ref}`, 'virtfleet tokens ls lists them');
        }
        await vf.tokens.revoke(token.id);
        return token.id;
      });
      ctx.out().write(ctx.out().json ? `${JSON.stringify({ revoked: id })}\n` : `revoked ${ref}\n`);
    });
}
