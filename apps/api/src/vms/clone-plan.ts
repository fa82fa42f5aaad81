import { basename } from 'node:path';
import { cloneVmFields, diskTarget, SAFE_NAME_PATTERN, safeName, type DomainDisk } from '@virtfleet/contracts';
import { z } from 'zod';
import { ApiError } from '../common/api-error';
import { submitJobBody } from '../jobs/jobs.service';

/**
 * POST /v1/vms/:id/clone. One clone by `name` (or `autoClone`: virt-clone's naming); `count`
 * clones by `namePattern` ("web-{n}") or autoClone, as child jobs of one parent job.
 */
export const cloneVmBody = cloneVmFields
  .omit({ source: true, name: true, uuid: true, disks: true })
  .extend({
    name: safeName.optional(),
    /** virt-clone --auto-clone: <source>-clone, then <source>-clone1, -clone2 … (the first free ones). */
    autoClone: z.boolean().default(false),
    count: z.number().int().min(1).max(100).default(1),
    /** With count: the clones' names, {n} counting from startIndex. */
    namePattern: z.string().regex(/^[A-Za-z0-9._-]*\{n\}[A-Za-z0-9._-]*$/, 'must hold {n} once, among letters, digits, ".", "_" or "-"').optional(),
    startIndex: z.number().int().min(0).max(1_000_000).default(1),
    /** One clone only: the clone's disk names by target; default <clone>-<rest of the source disk's name>. */
    disks: z.array(z.object({ target: diskTarget, name: safeName }).strict()).max(16).default([]),
    /** Read-only or shareable disks (install media) to copy too instead of sharing (virt-clone --force-copy). */
    forceCopy: z.array(diskTarget).max(16).default([]),
    expiresInSeconds: submitJobBody.shape.expiresInSeconds,
    timeoutSeconds: submitJobBody.shape.timeoutSeconds,
  })
  .strict()
  .refine((b) => [b.name !== undefined, b.autoClone, b.namePattern !== undefined].filter(Boolean).length === 1, {
    message: 'give exactly one of name, autoClone or namePattern',
  })
  .refine((b) => b.count === 1 || b.name === undefined, { message: 'count needs namePattern or autoClone, not name', path: ['count'] })
  .refine((b) => b.count === 1 || (b.disks.length === 0 && b.macs.length === 0), {
    message: 'disks and macs name one clone: leave them out with count (names and MACs are generated)',
    path: ['count'],
  })
  .refine((b) => b.count === 1 || !b.shutdownSource, {
    message: 'a bulk clone needs a shut-off source: shut it down first (one clone at a time may use shutdownSource)',
    path: ['shutdownSource'],
  });
export type CloneVmBody = z.infer<typeof cloneVmBody>;

/** What each clone's job is given as the client asked it (names and disks are decided per clone). */
export function cloneJobOptions(b: CloneVmBody) {
  const { macs, sparse, shutdownSource, shutdownTimeoutSeconds, start, waitFor, readyMarker, readyTimeoutSeconds, labels } = b;
  return { macs, sparse, shutdownSource, shutdownTimeoutSeconds, start, waitFor, readyMarker, readyTimeoutSeconds, labels };
}

/** The clones' names: given, virt-clone's auto names (first free), or the pattern. */
export function cloneNames(source: string, body: CloneVmBody, taken: ReadonlySet<string>): string[] {
  const names: string[] = [];
  if (body.name) {
    names.push(body.name);
  } else if (body.autoClone) {
    for (let i = 0; names.length < body.count; i++) {
      const name = `${source}-clone${i === 0 ? '' : i}`;
      if (!taken.has(name)) names.push(name);
    }
  } else {
    for (let i = 0; i < body.count; i++) names.push((body.namePattern ?? '').replace('{n}', String(body.startIndex + i)));
  }
  const bad = names.filter((n) => !SAFE_NAME_PATTERN.test(n));
  if (bad.length) throw new ApiError(400, 'request_invalid', `clone names must be 1-64 letters, digits, ".", "_" or "-": ${bad.slice(0, 3).join(', ')}`);
  const clash = names.filter((n) => taken.has(n) || n === source);
  if (clash.length) throw new ApiError(409, 'vm_exists', `the host already has VM(s) named ${clash.slice(0, 5).join(', ')}`, { names: clash });
  return names;
}

/**
 * Each copied disk's name for one clone: what the client gave, else the source disk's name with
 * the source VM's name swapped for the clone's (tiny1-data → tiny1-clone-data), else
 * <clone>-<target>. Writable disks are always copied; read-only ones only when forceCopy names them.
 */
export function cloneDiskNames(
  source: { name: string; disks: readonly DomainDisk[] },
  clone: string,
  given: ReadonlyArray<{ target: string; name: string }>,
  forceCopy: readonly string[],
): Array<{ target: string; name: string }> {
  const out: Array<{ target: string; name: string }> = [];
  for (const disk of source.disks) {
    const writable = (disk.device === 'disk' || disk.device === 'lun') && !disk.readonly;
    const explicit = given.find((g) => g.target === disk.target);
    if (!writable && !forceCopy.includes(disk.target) && !explicit) continue;
    if (explicit) {
      out.push(explicit);
      continue;
    }
    const base = disk.source ? basename(disk.source).replace(/\.(qcow2|raw|img)$/, '') : '';
    const derived = base.startsWith(source.name) ? `${clone}${base.slice(source.name.length)}` : `${clone}-${disk.target}`;
    out.push({ target: disk.target, name: derived.slice(0, 64) });
  }
  const unknown = [...given.map((g) => g.target), ...forceCopy].filter((t) => !source.disks.some((d) => d.target === t));
  if (unknown.length) throw new ApiError(400, 'request_invalid', `${source.name} has no disk ${unknown.join(', ')}`);
  return out;
}
