// Compiles apps/*/src, libs/*/src and bench/ to dist/ with swc (type checking is `npm run typecheck`).
// swc rewrites the @virtfleet/* path aliases to relative requires, so dist runs on plain Node.
// Then the web console (apps/web, a browser program) is bundled by Vite into dist/web, which the
// API serves at / — only when its sources changed since the last build (scripts/build-web.mjs).
import { transformFile } from '@swc/core';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from './build-web.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');

export const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
    baseUrl: root,
    paths: {
      '@virtfleet/contracts': ['libs/contracts/src/index.ts'],
      '@virtfleet/exec': ['libs/exec/src/index.ts'],
      '@virtfleet/libvirt': ['libs/libvirt/src/index.ts'],
      '@virtfleet/redis': ['libs/redis/src/index.ts'],
      '@virtfleet/sdk': ['libs/sdk/src/index.ts'],
      '@virtfleet/testing': ['libs/testing/src/index.ts'],
    },
  },
  module: { type: 'commonjs' },
  sourceMaps: true,
};

async function* sources(dir) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

const t0 = performance.now();
// Everything but the web console's bundle (and a bundle another build is making beside it), which
// buildWeb replaces only when it is out of date: an API started by another build may be serving it.
for (const e of await readdir(out).catch(() => [])) if (e !== 'web' && !e.startsWith('web.')) await rm(join(out, e), { recursive: true, force: true });
let n = 0;
const jobs = [];
const roots = [join(root, 'bench')];
for (const group of ['apps', 'libs']) {
  for (const project of await readdir(join(root, group))) if (!(group === 'apps' && project === 'web')) roots.push(join(root, group, project, 'src'));
}
for (const src of roots) {
  try {
    for await (const file of sources(src)) {
      jobs.push(
        (async () => {
          const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
          const { code, map } = await transformFile(file, { ...swcOptions, filename: file, sourceFileName: relative(dirname(target), file) });
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, `${code}\n//# sourceMappingURL=${target.split('/').pop()}.map\n`);
          if (map) await writeFile(`${target}.map`, map);
          n++;
        })(),
      );
    }
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
}
await Promise.all(jobs);
console.log(`build: ${n} files to dist/ in ${Math.round(performance.now() - t0)} ms`);
console.log(`build: ${await buildWeb(root, join(out, 'web'))}`);
