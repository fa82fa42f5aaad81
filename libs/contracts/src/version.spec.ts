import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VIRTFLEET_VERSION } from './version';

describe('VIRTFLEET_VERSION', () => {
  it('is the repository package version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { version: string };
    expect(VIRTFLEET_VERSION).toBe(pkg.version);
  });
});
