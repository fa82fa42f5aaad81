import 'reflect-metadata';
import { ApiConfigError, loadApiConfig } from './config/api.config';
import { createApp, listen } from './app';

async function main(): Promise<void> {
  let config;
  try {
    config = loadApiConfig(process.env);
  } catch (e) {
    if (e instanceof ApiConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const app = await createApp(config);
  await listen(app, config);
}

main().catch((err: Error) => {
  process.stderr.write(`virtfleet-api: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
