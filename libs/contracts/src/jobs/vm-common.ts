import { z } from 'zod';
import { domainInventory } from '../inventory';

// Values that reach virt-install's comma syntax (--disk a=b,c=d) or a tool's argv. DESIGN.md: no
// ",", "=", quotes or a leading "-" where a value sits inside that syntax.

/** A value placed inside virt-install's `key=value,key=value` syntax. */
export const commaSafe = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !/[,="'\\\s]/.test(s) && !s.startsWith('-') && !hasControl(s), {
    message: 'may not contain ",", "=", quotes, backslashes or spaces, or start with "-"',
  });

/** Free text that virt-install takes as one quoted value (kernel command line, --extra-args). */
export const quotedArg = z
  .string()
  .min(1)
  .max(2048)
  .refine((s) => !/["'\\]/.test(s) && !s.startsWith('-') && !hasControl(s) && !s.includes('$('), {
    message: 'may not contain quotes, backslashes, "$(" or control characters, or start with "-"',
  });

function hasControl(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(s);
}

/** A unicast MAC address, lower case on output. */
export const macAddress = z
  .string()
  .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'must look like 52:54:00:12:34:56')
  .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, 'must be a unicast address')
  .transform((m) => m.toLowerCase());

/** Linux interface names are at most 15 characters. */
export const bridgeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/, 'must be 1-15 letters, digits, ".", "_" or "-"');

/** An osinfo short id (virt-install --osinfo list): debian11, linux2022, generic … */
export const osVariant = z
  .string()
  .regex(/^[a-z][a-z0-9.+-]{0,63}$/, 'must be an osinfo short id such as linux2022 or debian11')
  // virt-install's own words: "list"/"help" print and exit 0 without creating anything.
  .refine((s) => !['list', 'help', 'auto', 'none'].includes(s), 'must name an OS, not a virt-install keyword');

/** A VNC password: libvirt takes at most 8 characters; it never reaches a shell but does reach argv. */
export const vncPassword = z
  .string()
  .regex(/^[A-Za-z0-9._+@%^*!~][A-Za-z0-9._+@%^*!~-]{0,7}$/, 'must be 1-8 letters, digits or ._+@%^*!~-, not starting with "-"');

/** A CPU list for pinning: 0-3, 5, ^2 … (libvirt cpuset syntax). */
export const cpuset = z
  .string()
  .regex(/^\^?\d{1,4}(-\d{1,4})?(,\^?\d{1,4}(-\d{1,4})?)*$/, 'must be a CPU list such as 0-3,6 or 1,^2');

/**
 * How jobs name a VM: by libvirt UUID (a domain renamed by hand is still found) and its name
 * (for logs and the per-VM lock: jobs on one VM run one at a time, in order).
 */
export const vmRef = z.object({ uuid: z.guid(), name: z.string().min(1).max(255) }).strict();
export type VmRef = z.infer<typeof vmRef>;

/** Every job on one VM takes this lock key: create, power actions, snapshots, clone. */
export function vmLockKey(name: string): string {
  return `vm:${name}`;
}

/** What a VM job reports: the domain as libvirt shows it afterwards, and when it was read (agent clock). */
export const vmResult = z.object({ domain: domainInventory, takenAt: z.iso.datetime() });
