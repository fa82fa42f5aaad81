import { labelMap } from '@virtfleet/contracts';
import { z } from 'zod';
import { validationError } from './api-error';

describe('validationError', () => {
  it('names the field and says the rule in its own words, a record key too', () => {
    const body = z.object({ labels: labelMap, size: z.number().positive() });
    const r = body.safeParse({ labels: { 'bad key': 'x' }, size: 0 });
    if (r.success) throw new Error('parsed');
    const err = validationError('request_invalid', r.error);
    expect(err.details?.['issues']).toEqual([
      { path: 'labels.bad key', message: 'key "bad key": label keys are 1-63 letters, digits or _./-, starting with a letter or digit' },
      { path: 'size', message: expect.stringContaining('>0') },
    ]);
  });
});
