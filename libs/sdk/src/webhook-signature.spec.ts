import { createHmac } from 'node:crypto';
import { VirtfleetError } from './errors';
import { fakeJob } from './fake-fetch';
import { parseWebhook, verifyWebhookSignature } from './webhook-signature';

// Signed the way docs/jobs.md says the API signs: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
const sign = (secret: string, body: string, t: number) => `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;

describe('webhook signatures', () => {
  const body = JSON.stringify({ event: 'job.finished', job: fakeJob('create-disk', { state: 'succeeded' }) });
  const now = Math.floor(Date.now() / 1000);

  it('accepts the body as signed, as a string or as bytes', () => {
    const header = sign('s3cret', body, now);
    expect(verifyWebhookSignature('s3cret', body, header)).toBe(true);
    expect(verifyWebhookSignature('s3cret', new TextEncoder().encode(body), header)).toBe(true);
  });

  it('refuses another secret, a changed body, an old timestamp, a missing or malformed header', () => {
    expect(verifyWebhookSignature('other', body, sign('s3cret', body, now))).toBe(false);
    expect(verifyWebhookSignature('s3cret', `${body} `, sign('s3cret', body, now))).toBe(false);
    expect(verifyWebhookSignature('s3cret', body, sign('s3cret', body, now - 301))).toBe(false);
    expect(verifyWebhookSignature('s3cret', body, sign('s3cret', body, now - 301), { toleranceSeconds: 600 })).toBe(true);
    expect(verifyWebhookSignature('s3cret', body, undefined)).toBe(false);
    expect(verifyWebhookSignature('s3cret', body, 't=1,v1=zz')).toBe(false);
  });

  it('parseWebhook answers the typed event, or throws on a bad signature', () => {
    const event = parseWebhook<'create-disk'>('s3cret', body, sign('s3cret', body, now));
    expect(event.event).toBe('job.finished');
    expect(event.job.type).toBe('create-disk');
    expect(() => parseWebhook('s3cret', body, sign('wrong', body, now))).toThrow(VirtfleetError);
  });
});
