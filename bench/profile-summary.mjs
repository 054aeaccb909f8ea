// Summarizes a V8 .cpuprofile: self time by function and by package.
// Usage: node bench/profile-summary.mjs FILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

function packageOf(url) {
  if (!url) return '(native/vm)';
  if (url.startsWith('node:')) return 'node:internal';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = url.indexOf('/dist/src/');
  if (dist !== -1) return `app:${url.slice(dist + '/dist/src/'.length).split('/')[0]}`;
  if (url.includes('/bench/')) return 'bench';
  return url;
}

export function summarizeProfile(file, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute it to the sample that follows.
    const delta = timeDeltas[i + 1] ?? 0;
    selfMicros.set(samples[i], (selfMicros.get(samples[i]) ?? 0) + delta);
  }
  let total = 0;
  let idle = 0;
  const byFunction = new Map();
  const byPackage = new Map();
  for (const [id, micros] of selfMicros) {
    const { callFrame } = byId.get(id);
    total += micros;
    if (callFrame.functionName === '(idle)') {
      idle += micros;
      continue;
    }
    const name = callFrame.functionName || '(anonymous)';
    const where = callFrame.url ? `${callFrame.url.replace(/^.*node_modules\//, '')}:${callFrame.lineNumber + 1}` : '';
    const key = `${name} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    const pkg = name.startsWith('(') ? name : packageOf(callFrame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
  }
  const busy = total - idle;
  const rank = (map) =>
    [...map.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, top)
      .map(([key, micros]) => ({ key, ms: micros / 1000, share: busy > 0 ? micros / busy : 0 }));
  return { totalMs: total / 1000, busyMs: busy / 1000, functions: rank(byFunction), packages: rank(byPackage) };
}

export function formatSummary(summary, title) {
  const lines = [
    `### ${title}`,
    '',
    `Busy ${summary.busyMs.toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms sampled (shares are of busy time).`,
    '',
    '| self % | self ms | package |',
    '| ---: | ---: | --- |',
    ...summary.packages.map((r) => `| ${(r.share * 100).toFixed(1)} | ${r.ms.toFixed(0)} | ${r.key} |`),
    '',
    '| self % | self ms | function |',
    '| ---: | ---: | --- |',
    ...summary.functions.map((r) => `| ${(r.share * 100).toFixed(1)} | ${r.ms.toFixed(0)} | \`${r.key}\` |`),
    '',
  ];
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/profile-summary.mjs FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(formatSummary(summarizeProfile(file, Number(process.argv[3] ?? 25)), file));
}
