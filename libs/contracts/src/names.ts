import { z } from 'zod';

// DESIGN.md safety rule: every name that reaches a tool matches this pattern. It cannot hold a
// path separator, start with "-" or ".", or carry virt-install's comma syntax.
export const SAFE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const safeName = z
  .string()
  .regex(SAFE_NAME_PATTERN, 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

// Host names are DNS-label-like (issue 4).
export const HOST_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const hostName = z
  .string()
  .regex(HOST_NAME_PATTERN, 'must be 1-63 lowercase letters, digits or "-", starting with a letter or digit');
