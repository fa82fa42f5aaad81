export * from './redis-url';
export * from './connect';
