// bench/RESULTS.md holds one section per kind of run; a run replaces only the sections it produced.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const HEADER =
  '# Benchmark results\n\nWritten by `npm run bench` (bench/run.mjs) and `npm run bench:embedded` (bench/embedded.mjs); see bench/README.md for what is measured and how.\n';

/** Writes each `{ name: markdown }` between its section markers in `file` (appended when new); `-` writes nothing. */
export function writeSections(file, sections) {
  if (!file || file === '-') return false;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  for (const [name, body] of Object.entries(sections)) {
    const block = `<!-- section:${name} -->\n${body.trim()}\n<!-- /section:${name} -->`;
    const pattern = new RegExp(`<!-- section:${name} -->[\\s\\S]*?<!-- /section:${name} -->`);
    text = pattern.test(text) ? text.replace(pattern, block) : `${text.trimEnd()}\n\n${block}\n`;
  }
  writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
  return true;
}
