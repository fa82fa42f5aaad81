import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How a webhook receiver checks X-Virtfleet-Signature ("t=<unix>,v1=<hex HMAC-SHA256(secret,
 * `${t}.${body}`)>"), written from the documentation rather than imported from the API.
 */
export function verifySignature(secret: string, body: string, header: string): boolean {
  const t = /(?:^|,)t=(\d+)/.exec(header)?.[1];
  const v1 = /(?:^|,)v1=([0-9a-f]{64})/.exec(header)?.[1];
  if (!t || !v1) return false;
  return timingSafeEqual(createHmac('sha256', secret).update(`${t}.${body}`).digest(), Buffer.from(v1, 'hex'));
}
