import { resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../../..');
export const SERVICES_SH = resolve(REPO_ROOT, 'scripts/services.sh');
