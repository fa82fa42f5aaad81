import { safeName } from './names';

describe('safeName', () => {
  it.each(['d1', 'vm-01', 'a.b_c', 'A'.repeat(64)])('accepts %s', (n) => {
    expect(safeName.safeParse(n).success).toBe(true);
  });
  it.each(['../x', 'a;b', '-f', 'x,y=z', '', '.hidden', 'a/b', 'a b', "a'b", 'A'.repeat(65)])('refuses %j', (n) => {
    expect(safeName.safeParse(n).success).toBe(false);
  });
});
