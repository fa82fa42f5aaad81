import { eventsChannel } from './job-events';

describe('eventsChannel', () => {
  it('is one per database: replicas share it whatever credentials they use, two fleets on one Redis do not', () => {
    const a = eventsChannel('postgresql://api:secret@db.example:5432/virtfleet?schema=public');
    expect(a).toMatch(/^virtfleet:events:[0-9a-f]{16}$/);
    expect(eventsChannel('postgresql://other:pw@DB.example/virtfleet')).toBe(a);
    expect(eventsChannel('postgresql://api:secret@db.example:5432/virtfleet_staging')).not.toBe(a);
    expect(eventsChannel('postgresql://api:secret@db2.example:5432/virtfleet')).not.toBe(a);
    expect(a).not.toContain('secret');
  });
});
