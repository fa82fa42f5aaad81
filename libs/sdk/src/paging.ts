import type { Page } from './views';

/** Cursor paging of the list routes (jobs, VMs, disks, audit): newest first. */
export interface ListFilter {
  /** Items per page (1–500; the API's default is 50 for jobs and VMs, 100 for disks and audit). */
  limit?: number;
  /** nextCursor of the page before; the iterators start here when it is given. */
  cursor?: string;
}

/** Every item of every page, fetching the next page only when the caller gets that far. */
export async function* pages<T>(page: (cursor: string | undefined) => Promise<Page<T>>, first?: string): AsyncGenerator<T> {
  let cursor = first;
  do {
    const p = await page(cursor);
    yield* p.items;
    cursor = p.nextCursor ?? undefined;
  } while (cursor);
}
