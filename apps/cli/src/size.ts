import { CliError, EXIT } from './exit-codes';

const SIZE = /^(\d+(?:\.\d+)?)([KMGT])?i?B?$/i;
const UNIT: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** 512M, 1G, 1.5T → bytes (powers of 1024, as qemu-img and virsh read them); a bare number is `bare` units. */
export function parseSize(text: string, flag = '--size', bare: 'K' | 'M' | 'G' = 'G'): number {
  const m = SIZE.exec(text.trim());
  if (!m) throw new CliError(EXIT.usage, `${flag} ${JSON.stringify(text)}: give a size such as 512M, 20G or 1T`);
  return Math.round(Number(m[1]) * (UNIT[(m[2] ?? bare).toUpperCase()] ?? 1));
}

/** A size in whole MiB (rounded up). */
export function sizeMiB(text: string, flag = '--size', bare: 'K' | 'M' | 'G' = 'G'): number {
  return Math.ceil(parseSize(text, flag, bare) / 1024 ** 2);
}

/** A whole number flag. */
export function wholeNumber(text: string, flag: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new CliError(EXIT.usage, `${flag} must be a whole number${min > 0 ? ` of at least ${min}` : ''}, not ${JSON.stringify(text)}`);
  return n;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 1.5 GiB, 64.0 MiB, 512 B: a byte count for people. */
export function human(bytes: number | null | undefined): string | undefined {
  if (bytes === null || bytes === undefined) return undefined;
  let v = Number(bytes);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[i]}`;
}
