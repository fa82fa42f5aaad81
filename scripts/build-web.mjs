// The web console's build step (scripts/build.mjs runs it): Vite bundles apps/web into dist/web,
// which the API serves at /. It runs only when an input changed since the bundle in dist/web was
// made (a hash of the inputs is kept in dist/web/.build-stamp), so the many builds of a test run
// (every e2e suite's Fleet builds) cost a hash, not a bundle. A new bundle is made beside the old
// one and renamed into place: an API serving the old one never sees a half-written folder.
import { createHash } from 'node:crypto';
import { readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';

/** What the bundle is made from: the app, the two libraries it imports, the lockfile, this script. */
const INPUTS = ['apps/web', 'libs/sdk/src', 'libs/sdk/package.json', 'libs/contracts/src', 'package-lock.json', 'scripts/build-web.mjs'];
const STAMP = '.build-stamp';

async function* files(root, path) {
  const entries = await readdir(join(root, path), { withFileTypes: true }).catch((e) => {
    if (e.code === 'ENOTDIR') return null;
    throw e;
  });
  if (entries === null) return yield path;
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name === 'node_modules' || e.name.endsWith('.spec.ts')) continue;
    const p = join(path, e.name);
    if (e.isDirectory()) yield* files(root, p);
    else if (e.isFile()) yield p;
  }
}

export async function inputsHash(root) {
  const h = createHash('sha256');
  for (const input of INPUTS) {
    for await (const f of files(root, input)) h.update(`${f}\0`).update(await readFile(join(root, f))).update('\0');
  }
  return h.digest('hex');
}

/** Builds dist/web if it is missing or out of date; answers what it did, for the build's log. */
export async function buildWeb(root, outDir) {
  const t0 = performance.now();
  const hash = await inputsHash(root);
  const current = await readFile(join(outDir, STAMP), 'utf8').catch(() => '');
  if (current.trim() === hash) return `web console up to date in ${relative(root, outDir)}/ (${Math.round(performance.now() - t0)} ms)`;

  // What a build that died half-way left beside dist/web (one running now is younger than this).
  for (const e of await readdir(dirname(outDir)).catch(() => [])) {
    if (!e.startsWith(`${basename(outDir)}.`)) continue;
    const p = join(dirname(outDir), e);
    if (Date.now() - (await stat(p)).mtimeMs > 10 * 60_000) await rm(p, { recursive: true, force: true });
  }
  const tmp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  const { build } = await import('vite');
  await build({
    configFile: join(root, 'apps/web/vite.config.mts'),
    logLevel: 'warn',
    build: { outDir: tmp, emptyOutDir: true },
  });
  await writeFile(join(tmp, STAMP), `${hash}\n`);
  const old = `${outDir}.old-${process.pid}-${Date.now()}`;
  await rename(outDir, old).catch((e) => {
    if (e.code !== 'ENOENT') throw e;
  });
  try {
    await rename(tmp, outDir);
  } catch (e) {
    // Another build put its bundle there between our two renames: the same inputs, so keep it.
    if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
    await rm(tmp, { recursive: true, force: true });
  }
  await rm(old, { recursive: true, force: true });
  return `web console bundled by Vite into ${relative(root, outDir)}/ in ${Math.round(performance.now() - t0)} ms`;
}
