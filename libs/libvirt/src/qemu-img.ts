import { z } from 'zod';
import type { Command } from '@virtfleet/exec';
import type { DiskFormat } from '@virtfleet/contracts';

// DESIGN.md: every qemu-img call pins the format (-f) and runs under resource limits, so a
// hostile image header cannot make qemu-img eat the host (CVE-2024-4467 and friends).
export const QEMU_IMG_LIMITS = { addressSpaceBytes: 1024 ** 3, cpuSeconds: 30 } as const;

export interface ResourceLimits {
  readonly addressSpaceBytes: number;
  readonly cpuSeconds: number;
}

/** Wraps a command in prlimit(1): the limits apply to the tool itself, not to the agent. */
export function withLimits(command: Command, limits: ResourceLimits): Command {
  return {
    ...command,
    cmd: 'prlimit',
    args: [`--as=${limits.addressSpaceBytes}`, `--cpu=${limits.cpuSeconds}`, '--', command.cmd, ...command.args],
  };
}

/** A new image; an overlay names its backing file with its format (-F: QEMU 7.2 requires it, and probing is unsafe). */
export function qemuImgCreate(opts: {
  path: string;
  format: DiskFormat;
  sizeBytes?: number | undefined;
  backing?: { path: string; format: DiskFormat } | undefined;
}): Command {
  const backing = opts.backing ? ['-b', opts.backing.path, '-F', opts.backing.format] : [];
  const size = opts.sizeBytes !== undefined ? [String(opts.sizeBytes)] : [];
  return { cmd: 'qemu-img', args: ['create', '-q', '-f', opts.format, ...backing, opts.path, ...size] };
}

/**
 * qemu-img convert with progress (-p): it prints "    (12.50/100%)\r" records on stdout even
 * through a pipe (reference §3). Both formats pinned; -c compresses (qcow2 only).
 */
export function qemuImgConvert(opts: {
  source: string;
  sourceFormat: DiskFormat;
  target: string;
  format: DiskFormat;
  compress?: boolean;
  /** false: zeros are written too, every block allocated (virt-clone --nonsparse). */
  sparse?: boolean;
}): Command {
  const extra = [...(opts.compress ? ['-c'] : []), ...(opts.sparse === false ? ['-S', '0'] : [])];
  return { cmd: 'qemu-img', args: ['convert', '-p', '-f', opts.sourceFormat, '-O', opts.format, ...extra, opts.source, opts.target] };
}

/** The last percentage in a chunk of `qemu-img convert -p` output, if any. */
export function parseConvertProgress(chunk: string): number | undefined {
  let last: number | undefined;
  for (const m of chunk.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)) last = Number(m[1]);
  return last;
}

export function qemuImgResize(opts: { path: string; format: DiskFormat; sizeBytes: number; shrink?: boolean }): Command {
  return { cmd: 'qemu-img', args: ['resize', '-q', '-f', opts.format, ...(opts.shrink ? ['--shrink'] : []), opts.path, String(opts.sizeBytes)] };
}

export function qemuImgInfo(opts: { path: string; format: DiskFormat; forceShare?: boolean }): Command {
  const args = ['info', '--output=json', '-f', opts.format];
  if (opts.forceShare) args.push('-U'); // a running domain holds the write lock
  args.push(opts.path);
  return withLimits({ cmd: 'qemu-img', args }, QEMU_IMG_LIMITS);
}

export function qemuImgVersion(): Command {
  return { cmd: 'qemu-img', args: ['--version'] };
}

const infoJson = z.object({
  filename: z.string(),
  format: z.string(),
  'virtual-size': z.number(),
  'actual-size': z.number().optional(),
  'cluster-size': z.number().optional(),
  'dirty-flag': z.boolean().optional(),
  'backing-filename': z.string().optional(),
  'full-backing-filename': z.string().optional(),
  'backing-filename-format': z.string().optional(),
  snapshots: z
    .array(
      z.object({
        id: z.string(),
        name: z.string(),
        'vm-state-size': z.number(),
        'date-sec': z.number(),
      }),
    )
    .optional(),
});

export interface QemuImgInfo {
  filename: string;
  format: string;
  virtualSize: number;
  actualSize: number;
  clusterSize?: number;
  dirty?: boolean;
  backingFile?: string;
  backingFormat?: string;
  snapshots?: Array<{ id: string; name: string; vmStateSize: number; date: string }>;
}

export function parseQemuImgInfo(stdout: string): QemuImgInfo {
  const j = infoJson.parse(JSON.parse(stdout));
  return {
    filename: j.filename,
    format: j.format,
    virtualSize: j['virtual-size'],
    actualSize: j['actual-size'] ?? 0,
    ...(j['cluster-size'] !== undefined ? { clusterSize: j['cluster-size'] } : {}),
    ...(j['dirty-flag'] !== undefined ? { dirty: j['dirty-flag'] } : {}),
    ...(j['full-backing-filename'] || j['backing-filename']
      ? { backingFile: j['full-backing-filename'] ?? j['backing-filename'] }
      : {}),
    ...(j['backing-filename-format'] ? { backingFormat: j['backing-filename-format'] } : {}),
    ...(j.snapshots
      ? {
          snapshots: j.snapshots.map((s) => ({
            id: s.id,
            name: s.name,
            vmStateSize: s['vm-state-size'],
            date: new Date(s['date-sec'] * 1000).toISOString(),
          })),
        }
      : {}),
  };
}

/** "qemu-img version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)" → "7.2.22" */
export function parseQemuImgVersion(stdout: string): string | undefined {
  return /qemu-img version (\S+)/.exec(stdout)?.[1];
}
