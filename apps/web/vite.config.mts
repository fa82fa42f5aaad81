// The web console's build (scripts/build.mjs runs it into dist/web, which the API serves at /) and
// its dev server: `npx vite apps/web` on :5173, API calls proxied to VIRTFLEET_URL (default the
// `npm run up` API on :8080). Everything is bundled: no CDN, no web font (air-gapped control planes).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, loadEnv } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig(({ mode }) => {
  const api = loadEnv(mode, here, 'VIRTFLEET_')['VIRTFLEET_URL'] || 'http://127.0.0.1:8080';
  return {
    root: here,
    base: '/',
    // @virtfleet/sdk resolves to its "browser" entry (libs/sdk/src/browser.ts): no node:crypto.
    plugins: [react()],
    logLevel: 'warn',
    build: {
      outDir: fileURLToPath(new URL('../../dist/web', import.meta.url)),
      emptyOutDir: true,
      sourcemap: true,
      target: 'es2022',
      chunkSizeWarningLimit: 1024,
    },
    server: {
      proxy: {
        '/v1': { target: api, ws: true },
        '/healthz': api,
        '/readyz': api,
      },
    },
  };
});
