import { createHash, randomBytes } from 'node:crypto';

/** A new bearer token: a prefix that says what it is, then 32 random bytes. Only its hash is stored. */
export function newToken(kind: 'api' | 'agent'): string {
  return `vf${kind === 'api' ? 'a' : 'h'}_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export const SCOPES = ['read', 'operate', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** admin ⊇ operate ⊇ read */
export function scopeAllows(granted: readonly string[], needed: Scope): boolean {
  const rank = (s: string) => SCOPES.indexOf(s as Scope);
  return granted.some((g) => rank(g) >= rank(needed));
}

export type Principal =
  | { kind: 'user'; tokenId: string; scopes: readonly string[] }
  | { kind: 'agent'; hostId: string };
