import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * X-Virtfleet-Signature: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, `${t}.${body}`)>".
 * Signing the timestamp with the body lets a receiver refuse replays of old deliveries.
 */
export function signBody(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** What a receiver does (documented in docs/jobs.md); used by the tests. */
export function verifySignature(secret: string, body: string, header: string, toleranceSeconds = 300): boolean {
  const t = Number(/(?:^|,)t=(\d+)/.exec(header)?.[1]);
  const v1 = /(?:^|,)v1=([0-9a-f]{64})/.exec(header)?.[1];
  if (!t || !v1 || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const want = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(want, Buffer.from(v1, 'hex'));
}
