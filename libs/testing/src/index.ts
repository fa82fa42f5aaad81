export * from './database';
export * from './ports';
export * from './test-env';
export * from './wait';
export { REPO_ROOT } from './paths';
export { services, parseEnvLines } from './services';
export * from './http-peers';
export { guestFixtures, type GuestFixtures, GUEST_FIXTURES_SH, DEFAULT_FIXTURES_DIR } from './guest-fixtures';
