import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CliError, EXIT } from '../exit-codes';

const stored = z.object({ url: z.url(), token: z.string().min(1) });
export type Credentials = z.infer<typeof stored>;

/** $XDG_CONFIG_HOME/virtfleet/config.json (default ~/.config/virtfleet/config.json), mode 0600: it holds a token. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'virtfleet', 'config.json');
}

export async function saveCredentials(creds: Credentials, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const path = configPath(env);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600); // an existing file keeps its mode on write
  return path;
}

/**
 * Where to talk to and as whom: --url/--token, then VIRTFLEET_URL/VIRTFLEET_TOKEN, then what
 * `virtfleet login` stored. Missing either is a usage error that says how to log in.
 */
export async function loadCredentials(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): Promise<Credentials> {
  const given = fromFlagsOrEnv(flags, env);
  if (given) return given;
  const file = await readFile(configPath(env), 'utf8').then(
    (text) => stored.partial().safeParse(JSON.parse(text)).data ?? {},
    () => ({}) as Partial<Credentials>,
  );
  const url = flags.url ?? env['VIRTFLEET_URL'] ?? file.url;
  const token = flags.token ?? env['VIRTFLEET_TOKEN'] ?? file.token;
  if (!url || !token) {
    throw new CliError(EXIT.usage, 'no API URL or token', 'run `virtfleet login --url URL --token TOKEN`, or set VIRTFLEET_URL and VIRTFLEET_TOKEN');
  }
  return { url, token };
}

/** --url/--token, else VIRTFLEET_URL/VIRTFLEET_TOKEN, when both are known (login takes only these). */
export function fromFlagsOrEnv(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const url = flags.url ?? env['VIRTFLEET_URL'];
  const token = flags.token ?? env['VIRTFLEET_TOKEN'];
  return url && token ? { url, token } : undefined;
}
