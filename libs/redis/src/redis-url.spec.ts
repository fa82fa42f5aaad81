import { parseRedisUrl, redact, withCredentials, withoutCredentials, redisUrlField } from './redis-url';

describe('parseRedisUrl', () => {
  it('takes redis:// and rediss:// as one server', () => {
    expect(parseRedisUrl('redis://:pw@127.0.0.1:6379/0')).toEqual({ kind: 'standalone', url: 'redis://:pw@127.0.0.1:6379/0' });
    expect(parseRedisUrl('rediss://u:p@redis.example:6380').kind).toBe('standalone');
  });

  it('takes a sentinel group: nodes, master name, data and sentinel credentials', () => {
    expect(parseRedisUrl('redis-sentinel://vf-host-1:s3cr%40t@10.0.0.1:26379,10.0.0.2:26380,[::1]:26381/mymaster?sentinelPassword=sp')).toEqual({
      kind: 'sentinel',
      nodes: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26380 }, { host: '::1', port: 26381 }],
      master: 'mymaster',
      username: 'vf-host-1',
      password: 's3cr@t',
      sentinelPassword: 'sp',
    });
  });

  it('takes a cluster: any nodes, credentials', () => {
    expect(parseRedisUrl('redis-cluster://:pw@n1:7000,n2:7001')).toEqual({ kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], password: 'pw' });
  });

  it.each([
    ['http://x:1', /must be redis:\/\//],
    ['redis-cluster://n1', /n1 is not host:port/],
    ['redis-cluster://n1:0', /not host:port/],
    ['redis-cluster://n1:7000/extra', /no path or query/],
    ['redis-sentinel://s1:26379', /names its master/],
    ['redis-sentinel://s1:26379/m?bogus=1', /unknown redis-sentinel:\/\/ option bogus/],
    ['redis-sentinel://s1:26379,s2/m', /s2 is not host:port/],
  ])('refuses %s', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it('never puts a password in its messages', () => {
    expect(() => parseRedisUrl('redis-cluster://u:topsecret@n1')).toThrow(/u:\*\*\*@/);
    expect(redact('redis-sentinel://:pw@s:1/m?sentinelPassword=sp')).toBe('redis-sentinel://:***@s:1/m?sentinelPassword=***');
  });

  it('is a config field with the parser\'s message', () => {
    const r = redisUrlField.safeParse('redis-cluster://nohost');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/not host:port/);
  });
});

describe('credentials', () => {
  it('hands an agent the same deployment as its own user', () => {
    expect(withCredentials('redis://127.0.0.1:6379', 'vf-host-1', 'p/w')).toBe('redis://vf-host-1:p%2Fw@127.0.0.1:6379');
    const s = withCredentials('redis-sentinel://:admin@s1:26379,s2:26379/vf?sentinelPassword=sp', 'vf-host-1', 'p/w');
    expect(s).toBe('redis-sentinel://vf-host-1:p%2Fw@s1:26379,s2:26379/vf?sentinelPassword=sp');
    expect(parseRedisUrl(s)).toMatchObject({ username: 'vf-host-1', password: 'p/w', sentinelPassword: 'sp' });
    expect(withCredentials('redis-cluster://n1:7000', 'u', 'p')).toBe('redis-cluster://u:p@n1:7000');
  });

  it('strips the admin credentials from the address agents are given', () => {
    expect(withoutCredentials('redis://:pw@127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(withoutCredentials('redis-cluster://:pw@n1:7000,n2:7001')).toBe('redis-cluster://n1:7000,n2:7001');
    expect(withoutCredentials('redis-sentinel://:pw@s1:26379/vf')).toBe('redis-sentinel://s1:26379/vf');
  });
});
