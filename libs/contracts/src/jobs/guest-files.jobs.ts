import { z } from 'zod';
import { defineJob } from '../define-job';
import { safeName } from '../names';
import { diskFormat } from './disk-common';
import { vmLockKey, vmRef } from './vm-common';

// Files inside a guest's disks through libguestfs (the operation guide's virt-cat / virt-edit /
// virt-df / virt-filesystems). Under TCG one libguestfs call takes 12–45 s (the first one builds
// the appliance), so the time-outs are minutes, not seconds.

export const GUEST_FILE_DEFAULT_BYTES = 1024 * 1024;
export const GUEST_FILE_MAX_BYTES = 16 * 1024 * 1024;
/** A literal replace reads the whole file into the agent first: it is for config files. */
export const GUEST_REPLACE_MAX_TEXT = 64 * 1024;

const GUEST_PATH_MAX = 4096;
const GUEST_NAME_MAX = 255;

/**
 * Devices as libguestfs names them inside its appliance (a guest's vda is sda there):
 * /dev/sda, /dev/sdb1, /dev/md0, and LVM or device-mapper names /dev/vg0/root, /dev/mapper/x.
 * No ":" (libguestfs's -m syntax is dev:mountpoint:options), no "." or ".." segment.
 */
export const GUEST_DEVICE_PATTERN = /^\/dev\/(?:sd[a-z]{1,3}[0-9]{0,3}|md[0-9]{1,4}|[A-Za-z0-9][A-Za-z0-9_+-]{0,62}\/[A-Za-z0-9][A-Za-z0-9_.+-]{0,62})$/;

export const guestDevice = z.string().regex(GUEST_DEVICE_PATTERN, 'must be a device such as /dev/sda1, /dev/md0 or /dev/vg0/root');

/** Why a guest path is refused, or undefined when it is absolute, normalised and printable. */
export function guestPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be absolute (start with "/")';
  if (path.length > GUEST_PATH_MAX) return `may be at most ${GUEST_PATH_MAX} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'may not contain NUL or control characters';
  const parts = path.split('/').slice(1);
  if (parts.length === 1 && parts[0] === '') return 'must name a file, not "/"';
  if (parts.some((p) => p === '')) return 'must be normalised: no "//" and no trailing "/"';
  if (parts.some((p) => p === '.' || p === '..')) return 'may not contain "." or ".." segments';
  if (parts.some((p) => new TextEncoder().encode(p).length > GUEST_NAME_MAX)) return `each name may be at most ${GUEST_NAME_MAX} bytes`;
  return undefined;
}

/** A file path inside the guest: absolute, normalised, no "..", no control characters. */
export const guestFilePath = z.string().superRefine((path, ctx) => {
  const problem = guestPathProblem(path);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A disk of ours in the store root, named as create-disk names it. */
export const guestDiskRef = z
  .object({
    name: safeName,
    // Without a format the agent takes the one the file name carries (<name>.<format>).
    format: diskFormat.optional(),
  })
  .strict();

/** Where the guest's files are: a VM (its disks, by UUID) or one disk of ours; exactly one. */
const targetShape = { vm: vmRef.optional(), disk: guestDiskRef.optional() };

type Target = { vm?: { name: string } | undefined; disk?: { name: string } | undefined };

function oneTarget(p: Target): boolean {
  return (p.vm === undefined) !== (p.disk === undefined);
}
const ONE_TARGET = { message: 'give exactly one of vm or disk', path: ['vm'] };

/** The same keys other jobs take: a VM's jobs run one at a time, a disk's likewise. */
export function guestTargetLockKey(p: Target): string | undefined {
  if (p.vm) return vmLockKey(p.vm.name);
  return p.disk ? `disk:${p.disk.name}` : undefined;
}

/**
 * The filesystem to mount at "/" (virt-cat -m). Without it libguestfs inspects the disks for an
 * operating system, which a data disk does not have.
 */
const mount = guestDevice.optional();

export const readGuestFileJob = defineJob({
  name: 'read-guest-file',
  summary: "Read a file inside a VM's or a disk's filesystem (libguestfs, read-only; a running VM is read as it is on disk).",
  payload: z
    .object({
      ...targetShape,
      mount,
      path: guestFilePath,
      /** Bytes returned at most; a longer file comes back truncated (truncated: true). */
      maxBytes: z.number().int().positive().max(GUEST_FILE_MAX_BYTES).default(GUEST_FILE_DEFAULT_BYTES),
    })
    .strict()
    .refine(oneTarget, ONE_TARGET),
  result: z.object({
    path: z.string(),
    /** The file's size in the guest. */
    size: z.number().int().nonnegative(),
    truncated: z.boolean(),
    /** utf8 for valid UTF-8 text without NUL bytes, base64 otherwise. */
    encoding: z.enum(['utf8', 'base64']),
    content: z.string(),
    /** SHA-256 (hex) of the bytes returned. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  timeoutMs: 180_000,
  attempts: 2,
  lockKey: guestTargetLockKey,
});

/** A literal text edit done by the agent (read, replace, upload): never an expression that runs. */
export const guestReplace = z
  .object({
    find: z.string().min(1).max(GUEST_REPLACE_MAX_TEXT),
    with: z.string().max(GUEST_REPLACE_MAX_TEXT),
    /** Replace every occurrence; otherwise the text must occur exactly once. */
    all: z.boolean().default(false),
  })
  .strict();

// base64 of 16 MiB.
const MAX_CONTENT_CHARS = Math.ceil(GUEST_FILE_MAX_BYTES / 3) * 4;

export const writeGuestFileJob = defineJob({
  name: 'write-guest-file',
  summary: 'Write a whole file, or replace literal text in one, inside a shut-off VM or a disk no running VM uses (libguestfs upload).',
  payload: z
    .object({
      ...targetShape,
      mount,
      path: guestFilePath,
      /** The whole new content. */
      content: z.string().max(MAX_CONTENT_CHARS).optional(),
      encoding: z.enum(['utf8', 'base64']).default('utf8'),
      replace: guestReplace.optional(),
      /** Permissions set after the write (chmod), e.g. "0644"; an existing file keeps its own otherwise. */
      mode: z
        .string()
        .regex(/^0?[0-7]{3,4}$/, 'must be an octal mode such as 0644 or 0755')
        .optional(),
      /** mkdir -p the parent folder first. */
      createParents: z.boolean().default(false),
    })
    .strict()
    .refine(oneTarget, ONE_TARGET)
    .refine((p) => (p.content === undefined) !== (p.replace === undefined), {
      message: 'give exactly one of content or replace',
      path: ['content'],
    })
    .refine((p) => p.encoding !== 'base64' || p.content === undefined || /^[A-Za-z0-9+/]*={0,2}$/.test(p.content), {
      message: 'is not base64',
      path: ['content'],
    }),
  result: z.object({
    path: z.string(),
    /** Whether the file was written (a replace whose text is already there writes nothing). */
    written: z.boolean(),
    size: z.number().int().nonnegative(),
    /** SHA-256 (hex) of the file's content afterwards, as the agent wrote it. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    replacements: z.number().int().nonnegative().optional(),
  }),
  timeoutMs: 300_000,
  attempts: 2,
  lockKey: guestTargetLockKey,
});

export const guestFilesystemUsage = z.object({
  /** What virt-df calls the VirtualMachine column: the VM's or the disk's name. */
  source: z.string(),
  device: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  usedBytes: z.number().int().nonnegative(),
  availableBytes: z.number().int().nonnegative(),
  usePercent: z.number().nonnegative(),
});
export type GuestFilesystemUsage = z.infer<typeof guestFilesystemUsage>;

export const guestDiskUsageJob = defineJob({
  name: 'guest-disk-usage',
  summary: "Filesystem usage inside a VM's or a disk's filesystems (virt-df --csv, read-only).",
  payload: z.object(targetShape).strict().refine(oneTarget, ONE_TARGET),
  result: z.object({ filesystems: z.array(guestFilesystemUsage) }),
  timeoutMs: 180_000,
  attempts: 2,
  lockKey: guestTargetLockKey,
});

export const guestFilesystemEntry = z.object({
  /** /dev/sda, /dev/sda1, /dev/vg0/root … */
  name: z.string(),
  /** device | partition | filesystem | lv | vg | pv … */
  type: z.string(),
  vfs: z.string().optional(),
  label: z.string().optional(),
  /** The MBR partition type byte (hex), for partitions on an MBR disk. */
  mbr: z.string().optional(),
  sizeBytes: z.number().int().nonnegative().optional(),
  parent: z.string().optional(),
  uuid: z.string().optional(),
});
export type GuestFilesystemEntry = z.infer<typeof guestFilesystemEntry>;

export const listGuestFilesystemsJob = defineJob({
  name: 'list-guest-filesystems',
  summary: "Block devices, partitions and filesystems inside a VM's or a disk's image (virt-filesystems --long --csv, read-only).",
  payload: z.object(targetShape).strict().refine(oneTarget, ONE_TARGET),
  result: z.object({ entries: z.array(guestFilesystemEntry) }),
  timeoutMs: 180_000,
  attempts: 2,
  lockKey: guestTargetLockKey,
});
