import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REQUIRED_MIGRATION } from './schema-check';

describe('REQUIRED_MIGRATION', () => {
  it('is the newest migration in prisma/migrations', () => {
    const dirs = readdirSync(join(__dirname, '../../../../prisma/migrations'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(REQUIRED_MIGRATION).toBe(dirs[dirs.length - 1]);
  });
});
