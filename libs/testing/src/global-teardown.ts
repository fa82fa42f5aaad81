import { rm } from 'node:fs/promises';
import { services } from './services';
import { testServices } from './test-env';

/** Stops what the global setup started (libvirtd only if it started it) and removes its folder. */
export default async function globalTeardown(): Promise<void> {
  const { dir } = testServices();
  await services('stop', '--dir', dir);
  await rm(dir, { recursive: true, force: true });
}
