import { Logger } from '@nestjs/common';
import { PinoNestLogger, apiLogger, jobLine } from './logger';

/** An API logger writing into an array, one parsed JSON object per line. */
function capture(level: 'info' | 'debug' | 'trace' = 'trace') {
  const lines: Array<Record<string, unknown>> = [];
  const pino = apiLogger(level, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { lines, nest: new PinoNestLogger(pino) };
}

describe('PinoNestLogger', () => {
  afterEach(() => Logger.overrideLogger(false));

  it("writes one JSON object per line with Nest's context as a field", () => {
    const { lines, nest } = capture();
    Logger.overrideLogger(nest);
    new Logger('Dispatcher').log('hello');
    expect(lines).toEqual([expect.objectContaining({ level: 30, msg: 'hello', context: 'Dispatcher', name: 'virtfleet-api', time: expect.any(Number) })]);
  });

  it('maps the levels (verbose is trace) and honours the configured one', () => {
    const { lines, nest } = capture('info');
    Logger.overrideLogger(nest);
    const log = new Logger('X');
    log.verbose('v');
    log.debug('d');
    log.log('l');
    log.warn('w');
    log.error('e');
    log.fatal('f');
    expect(lines.map((l) => [l['level'], l['msg']])).toEqual([
      [30, 'l'],
      [40, 'w'],
      [50, 'e'],
      [60, 'f'],
    ]);
    const all = capture('trace');
    Logger.overrideLogger(all.nest);
    log.verbose('v');
    log.debug('d');
    expect(all.lines.map((l) => l['level'])).toEqual([10, 20]);
  });

  it('takes a structured line: its fields become fields of the JSON line', () => {
    const { lines, nest } = capture();
    Logger.overrideLogger(nest);
    new Logger('Dispatcher').warn(jobLine({ id: 'j1', hostId: 'h1', requestId: 'r1' }, 'stays pending', { err: 'Redis down' }));
    expect(lines[0]).toMatchObject({ level: 40, msg: 'stays pending', context: 'Dispatcher', jobId: 'j1', hostId: 'h1', requestId: 'r1', err: 'Redis down' });
  });

  it('leaves out the hostId and requestId a job does not have', () => {
    expect(jobLine({ id: 'j1', hostId: null, requestId: null }, 'm')).toEqual({ msg: 'm', jobId: 'j1' });
  });

  it('keeps an error stack apart from the context, with or without a context', () => {
    const { lines, nest } = capture();
    Logger.overrideLogger(nest);
    const stack = new Error('boom').stack as string;
    new Logger('ErrorFilter').error('boom', stack);
    new Logger('ErrorFilter').error('plain');
    Logger.error('static', stack);
    expect(lines[0]).toMatchObject({ msg: 'boom', context: 'ErrorFilter', stack });
    expect(lines[1]).toMatchObject({ msg: 'plain', context: 'ErrorFilter' });
    expect(lines[1]).not.toHaveProperty('stack');
    expect(lines[2]).toMatchObject({ msg: 'static', stack });
    expect(lines[2]).not.toHaveProperty('context');
  });

  it('serialises an Error message as err', () => {
    const { lines, nest } = capture();
    nest.error(new Error('kaput'), undefined, 'Reconciler');
    expect(lines[0]).toMatchObject({ msg: 'kaput', context: 'Reconciler', err: { type: 'Error', message: 'kaput' } });
  });
});
