import { requestIdFrom } from './request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('requestIdFrom (x-request-id)', () => {
  it.each(['test-req-1', 'a', 'A.b_c:d-9', '0e3c1a52-94b4-4f6e-9d8e-5f1f0f4b2c11', 'x'.repeat(128)])('keeps a valid id: %s', (id) => {
    expect(requestIdFrom(id)).toBe(id);
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(129)],
    ['a space', 'has space'],
    ['a newline (log injection)', 'a\nb'],
    ['a quote', 'a"b'],
    ['a slash', 'a/b'],
    ['non-ASCII', 'réq'],
    ['a comma (two headers joined)', 'a,b'],
  ])('replaces one with %s by a new UUID', (_why, id) => {
    expect(requestIdFrom(id)).toMatch(UUID);
  });

  it('makes a new UUID when there is none, a different one each time', () => {
    const a = requestIdFrom(undefined);
    expect(a).toMatch(UUID);
    expect(requestIdFrom(undefined)).not.toBe(a);
  });

  it('takes the first of repeated headers when it is valid', () => {
    expect(requestIdFrom(['first-1', 'second-2'])).toBe('first-1');
    expect(requestIdFrom(['bad id', 'second-2'])).toMatch(UUID);
  });
});
