import type { Labels } from './views';

/** A label filter: `{ zone: 'a', tier: 'web' }` or the query form "zone=a,tier=web" (all must match). */
export type LabelSelector = Labels | string;

/** The `label` query parameter (apps/api/src/common/labels.ts): key=value pairs joined by commas. */
export function labelSelector(selector: LabelSelector | undefined): string | undefined {
  if (selector === undefined || typeof selector === 'string') return selector;
  const pairs = Object.entries(selector);
  for (const [k, v] of pairs) {
    // The API splits the selector on "," and each pair at its first "=": such a value cannot be asked for.
    if (v.includes(',')) throw new TypeError(`label ${k}: a value with "," cannot be used in a label filter`);
  }
  return pairs.length ? pairs.map(([k, v]) => `${k}=${v}`).join(',') : undefined;
}
