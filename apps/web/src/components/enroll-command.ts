// The command a new host runs to join the fleet (docs/hosts.md, "Enroll a host"), built from the
// join token the API answered and this console's origin (the API serves the console, so the
// origin is the API's address as this browser reaches it).

/** A word as a POSIX shell reads it back: bare when it is plain, else in single quotes. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface EnrollOptions {
  /** The API's URL the host reaches (this page's origin). */
  api: string;
  /** The one-time join token (vfj_…). */
  token: string;
  /** --name: the host's name in the fleet (default: its hostname). */
  name?: string;
  /** --labels k=v,… as typed. */
  labels?: string;
}

/** `virtfleet-agent enroll --api <origin> --token <join> [--name N] [--labels k=v,…]` */
export function enrollCommand(o: EnrollOptions): string {
  const args = ['virtfleet-agent', 'enroll', '--api', o.api, '--token', o.token];
  const name = o.name?.trim();
  if (name) args.push('--name', name);
  const labels = o.labels
    ?.split(/[,\n]/)
    .map((p) => p.trim())
    .filter(Boolean)
    .join(',');
  if (labels) args.push('--labels', labels);
  return args.map(shellWord).join(' ');
}
