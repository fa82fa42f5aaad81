import { CliError, EXIT } from './exit-codes';

/**
 * key=value flags → { key: value }. split: each flag may hold several pairs separated by commas
 * (--host-selector zone=a,tier=web); otherwise one pair each, so a value may hold commas (--label).
 */
export function parseLabels(texts: string | readonly string[], flag: string, split = true): Record<string, string> {
  const out: Record<string, string> = {};
  for (const text of typeof texts === 'string' ? [texts] : texts) {
    for (const pair of split ? text.split(',') : [text]) {
      const eq = pair.indexOf('=');
      const key = pair.slice(0, eq).trim();
      if (eq < 1 || !key) throw new CliError(EXIT.usage, `${flag} ${JSON.stringify(text)}: give key=value${split ? ',key=value…' : ''}`);
      out[key] = pair.slice(eq + 1).trim();
    }
  }
  return out;
}
