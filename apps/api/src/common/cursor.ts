import { z } from 'zod';
import { ApiError } from './api-error';

// Cursor paging over (createdAt desc, id desc): the cursor is the last row's key, opaque to clients.

export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const createdAt = new Date(iso ?? '');
  if (!id || Number.isNaN(createdAt.getTime()) || !z.uuid().safeParse(id).success) {
    throw new ApiError(400, 'cursor_invalid', 'cursor is not one this API handed out');
  }
  return { createdAt, id };
}

/** Rows after the cursor, in (createdAt desc, id desc) order. */
export function afterCursor(cursor: string) {
  const c = decodeCursor(cursor);
  return [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lt: c.id } }];
}

/** One page from `limit + 1` rows: the items and the next cursor, if there is more. */
export function pageOf<T extends { createdAt: Date; id: string }>(rows: T[], limit: number): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
