import { createHmac, timingSafeEqual } from 'node:crypto';
import type { JobType } from '@virtfleet/contracts';
import { VirtfleetError } from './errors';
import type { Job } from './job';

/** What a webhook receives (apps/api/src/webhooks/webhooks.service.ts enqueue): the job as it ended. */
export interface WebhookEvent<T extends JobType = JobType> {
  event: 'job.finished';
  job: Job<T>;
}

/**
 * Checks X-Virtfleet-Signature ("t=<unix seconds>,v1=<hex HMAC-SHA256(secret, `${t}.${rawBody}`)>")
 * over the body exactly as received, in constant time, and refuses a timestamp more than
 * toleranceSeconds away (a replayed old delivery).
 */
export function verifyWebhookSignature(
  secret: string,
  rawBody: string | Uint8Array,
  header: string | null | undefined,
  opts: { toleranceSeconds?: number; nowSeconds?: number } = {},
): boolean {
  if (!header) return false;
  const t = Number(/(?:^|,)\s*t=(\d+)/.exec(header)?.[1]);
  const v1 = /(?:^|,)\s*v1=([0-9a-f]{64})/.exec(header)?.[1];
  const now = opts.nowSeconds ?? Date.now() / 1000;
  if (!t || !v1 || Math.abs(now - t) > (opts.toleranceSeconds ?? 300)) return false;
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody) : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  const want = createHmac('sha256', secret).update(`${t}.`).update(body).digest();
  return timingSafeEqual(want, Buffer.from(v1, 'hex'));
}

/** The delivery's event once its signature checks out; VirtfleetError otherwise. */
export function parseWebhook<T extends JobType = JobType>(
  secret: string,
  rawBody: string | Uint8Array,
  signatureHeader: string | null | undefined,
  opts: { toleranceSeconds?: number } = {},
): WebhookEvent<T> {
  if (!verifyWebhookSignature(secret, rawBody, signatureHeader, opts)) {
    throw new VirtfleetError('webhook signature does not match (wrong secret, a changed body, or a delivery older than the tolerance)');
  }
  return JSON.parse(typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8')) as WebhookEvent<T>;
}
