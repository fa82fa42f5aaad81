// What the global setup started, handed to test workers through the environment.
export interface TestServices {
  dir: string;
  /** The virtfleet database of the test cluster (admin rights). */
  databaseUrl: string;
  /** A migrated database that per-suite databases are copied from. */
  templateDatabase: string;
  redisUrl: string;
}

const KEY = 'VIRTFLEET_TEST_SERVICES';

export function exportTestServices(s: TestServices): void {
  process.env[KEY] = JSON.stringify(s);
}

export function testServices(): TestServices {
  const raw = process.env[KEY];
  if (!raw) throw new Error('test services are not running: run the tests through jest (its global setup starts them)');
  return JSON.parse(raw) as TestServices;
}
