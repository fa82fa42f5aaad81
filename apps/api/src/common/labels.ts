import { ApiError } from './api-error';

/**
 * A label selector from a query string (`label=zone=a,tier=web`: all must match), as Prisma
 * conditions on a Json `labels` column.
 */
export function labelConditions(raw: string | undefined): Array<{ labels: { path: string[]; equals: string } }> {
  if (!raw) return [];
  return raw.split(',').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ApiError(400, 'label_invalid', `label filter ${JSON.stringify(pair)} is not key=value`);
    return { labels: { path: [pair.slice(0, eq)], equals: pair.slice(eq + 1) } };
  });
}
