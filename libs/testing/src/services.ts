import { NodeCommandRunner, assertSucceeded } from '@virtfleet/exec';
import { SERVICES_SH } from './paths';

const runner = new NodeCommandRunner({ baseEnv: process.env });

/** Runs scripts/services.sh, the same script `npm run up` uses. */
export async function services(...args: string[]): Promise<string> {
  const r = await runner.run({ cmd: 'bash', args: [SERVICES_SH, ...args] }, { timeoutMs: 300_000 });
  if (r.exitCode !== 0) {
    throw new Error(`services.sh ${args.join(' ')} failed (exit ${r.exitCode}):\n${r.stderr}`);
  }
  return assertSucceeded(r).stdout;
}

export function parseEnvLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
