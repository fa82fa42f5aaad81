import { Argument, type Command, type Option } from 'commander';
import type { VirtfleetClient } from '@virtfleet/sdk';
import type { Ctx } from '../context';

// Shell completion: the shell scripts ask the CLI itself (`virtfleet __complete -- <words>`), which
// walks its own commander tree, so completion never goes stale as commands grow. Names of VMs,
// hosts, disks and networks come from the API (2 s at most; nothing when it cannot be reached).

const SCRIPTS = {
  bash: `# virtfleet completion for bash: source <(virtfleet completion bash)
_virtfleet() {
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(virtfleet __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -o default -F _virtfleet virtfleet
`,
  zsh: `#compdef virtfleet
# virtfleet completion for zsh: source <(virtfleet completion zsh)
_virtfleet() {
  local -a items
  items=("\${(@f)$(virtfleet __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a items
}
compdef _virtfleet virtfleet
`,
  fish: `# virtfleet completion for fish: virtfleet completion fish | source
complete -c virtfleet -f -a '(virtfleet __complete -- (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
`,
} as const;
type Shell = keyof typeof SCRIPTS;

/** What a positional argument or an option value names, completed from the API. */
type Dynamic = 'vm' | 'host' | 'disk' | 'network';
const DYNAMIC_ARGS: Record<string, Dynamic> = { vm: 'vm', host: 'host', disk: 'disk' };

export type Completion = { words: string[] } | { dynamic: Dynamic };

/** What may come next after `words` (the last one being the word under the cursor, maybe ""). */
export function complete(program: Command, words: readonly string[]): Completion {
  const typed = words.slice(0, -1);
  const partial = words.at(-1) ?? '';
  let cmd = program;
  let positional = 0;
  for (let i = 0; i < typed.length; i++) {
    const w = typed[i] as string;
    if (w.startsWith('-')) {
      const opt = findOption(cmd, w);
      if (opt && (opt.required || opt.optional) && !w.includes('=')) i++;
      continue;
    }
    const sub = positional === 0 ? cmd.commands.find((c) => c.name() === w || c.aliases().includes(w)) : undefined;
    if (sub) cmd = sub;
    else positional++;
  }
  const prev = typed.at(-1);
  if (prev?.startsWith('-') && !prev.includes('=')) {
    const opt = findOption(cmd, prev);
    if (opt && (opt.required || opt.optional)) {
      if (opt.argChoices) return { words: opt.argChoices };
      if (opt.long === '--host' || opt.long === '--attach-to') return { dynamic: opt.long === '--host' ? 'host' : 'vm' };
      if (opt.long === '--network') return { dynamic: 'network' };
      return { words: [] };
    }
  }
  if (partial.startsWith('-')) {
    const opts: string[] = [];
    for (let c: Command | null = cmd; c; c = c.parent) for (const o of c.options) if (!o.hidden && o.long) opts.push(o.long);
    return { words: [...new Set([...opts, '--help'])] };
  }
  const subs = cmd
    .createHelp()
    .visibleCommands(cmd)
    .map((c) => c.name())
    .filter((n) => n !== 'help');
  if (subs.length) return { words: subs };
  const arg: Argument | undefined = cmd.registeredArguments[positional];
  const dynamic = arg ? DYNAMIC_ARGS[arg.name()] : undefined;
  if (dynamic) return { dynamic };
  if (arg?.name() === 'name' && cmd.parent?.name() === 'networks' && cmd.name() !== 'create') return { dynamic: 'network' };
  return { words: arg?.argChoices ?? [] };
}

function findOption(cmd: Command, flag: string): Option | undefined {
  const name = flag.split('=')[0];
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.options.find((x) => x.long === name || x.short === name);
    if (o) return o;
  }
  return undefined;
}

async function namesOf(vf: VirtfleetClient, what: Dynamic, signal: AbortSignal): Promise<string[]> {
  switch (what) {
    case 'vm':
      return (await vf.vms.list({ limit: 500 }, { signal })).items.map((v) => v.name);
    case 'host':
      return (await vf.hosts.list({}, { signal })).map((h) => h.name);
    case 'disk':
      return (await vf.disks.list({ limit: 500 }, { signal })).items.map((d) => d.name);
    case 'network':
      return (await vf.networks.list({}, { signal })).map((n) => n.name);
  }
}

export function registerCompletion(program: Command, ctx: Ctx): void {
  program
    .command('completion')
    .description('Print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'your shell').choices(Object.keys(SCRIPTS)))
    .addHelpText(
      'after',
      '\nExamples:\n  source <(virtfleet completion bash)          (add it to ~/.bashrc)\n  virtfleet completion zsh > "${fpath[1]}/_virtfleet"\n  virtfleet completion fish > ~/.config/fish/completions/virtfleet.fish',
    )
    .action((shell: Shell) => {
      process.stdout.write(SCRIPTS[shell]);
    });
  program
    .command('__complete', { hidden: true })
    .argument('[words...]')
    .action(async (words: string[]) => {
      const found = complete(program, words.length ? words : ['']);
      let items: string[];
      if ('words' in found) items = found.words;
      else {
        try {
          const vf = await ctx.client();
          items = [...new Set(await namesOf(vf, found.dynamic, AbortSignal.timeout(2000)))].sort();
        } catch {
          items = []; // not logged in, API down: nothing to offer, and nothing printed
        }
      }
      const partial = words.at(-1) ?? '';
      process.stdout.write(items.filter((w) => w.startsWith(partial)).map((w) => `${w}\n`).join(''));
    });
}
