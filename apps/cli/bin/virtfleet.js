#!/usr/bin/env node
// `npx virtfleet` in the repository, or the `virtfleet` bin once installed: the built CLI.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', '..', '..', 'dist', 'apps', 'cli', 'src', 'main.js');
if (!existsSync(main)) {
  process.stderr.write('virtfleet: the CLI is not built yet: run `npm run build` (or `npm run up`) in the repository first\n');
  process.exit(2);
}
require(main)
  .run(process.argv.slice(2))
  .then((code) => process.exit(code));
