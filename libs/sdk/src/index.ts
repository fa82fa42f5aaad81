// @virtfleet/sdk: a typed client for the virtfleet REST API, its job types from @virtfleet/contracts.
// Everything but webhook verification (node:crypto) is in ./browser, which bundlers for the web take.
export * from './browser';
export { parseWebhook, verifyWebhookSignature, type WebhookEvent } from './webhook-signature';
