import { Periodic } from './periodic';

describe('Periodic', () => {
  it('never runs twice at once; a run asked for meanwhile happens right after', async () => {
    let active = 0;
    let most = 0;
    let runs = 0;
    let release: () => void = () => undefined;
    const gate = () => new Promise<void>((r) => (release = r));
    const p = new Periodic(60_000, async () => {
      active++;
      most = Math.max(most, active);
      runs++;
      await gate();
      active--;
    }, () => undefined);
    p.run();
    p.run();
    p.run(); // folded into the one "again"
    release();
    await new Promise((r) => setImmediate(r));
    release();
    await new Promise((r) => setImmediate(r));
    expect(runs).toBe(2);
    expect(most).toBe(1);
  });

  it('hands errors to onError and keeps going', async () => {
    const errors: string[] = [];
    let n = 0;
    const p = new Periodic(60_000, async () => {
      n++;
      throw new Error(`boom ${n}`);
    }, (e) => errors.push(e.message));
    p.run();
    await new Promise((r) => setImmediate(r));
    p.run();
    await new Promise((r) => setImmediate(r));
    expect(errors).toEqual(['boom 1', 'boom 2']);
  });
});
