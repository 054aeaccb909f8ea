// Runs a TypeScript script of this repository: `node scripts/run-ts.mjs scripts/x.ts [args]`.
// Compiles each .ts file on require with SWC (already a dev dependency: the test
// runner uses it too), with the decorator metadata Nest's dependency injection needs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { transformSync } from '@swc/core';

const require = createRequire(import.meta.url);

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    module: { type: 'commonjs', ignoreDynamic: true },
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    },
  });
  module._compile(code, filename);
};

const [script, ...args] = process.argv.slice(2);
if (!script) {
  process.stderr.write('usage: node scripts/run-ts.mjs <script.ts> [args]\n');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(script), ...args];
require(resolve(script));
