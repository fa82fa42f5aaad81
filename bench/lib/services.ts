import { startTestServices, stopTestServices, testServices } from '@virtfleet/testing';

/**
 * PostgreSQL, Redis and libvirtd for a bench run: the test setup's own (scripts/services.sh in a
 * temp folder, on free ports), so `npm run bench` needs nothing running beforehand. Under the
 * test run (the smoke test), the services it started already.
 */
export async function withServices<T>(fn: () => Promise<T>): Promise<T> {
  if (running()) return fn();
  await startTestServices();
  try {
    return await fn();
  } finally {
    await stopTestServices();
  }
}

function running(): boolean {
  try {
    testServices();
    return true;
  } catch {
    return false;
  }
}
