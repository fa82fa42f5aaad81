import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository: the nearest folder above this file with scripts/services.sh (from src/ or dist/). */
function repoRoot(): string {
  for (let dir = resolve(__dirname); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'scripts/services.sh'))) return dir;
  }
  return resolve(__dirname, '../../..');
}

export const REPO_ROOT = repoRoot();
export const SERVICES_SH = resolve(REPO_ROOT, 'scripts/services.sh');
