// `npm run bench [name]`: benchmarks, each printing its figures as ratios against a baseline from the same run, and
// the targets it promises (targets.mjs): the process exits 1 when a target is missed, 0 only when all held.
// Runs inside the emulator suite (emulators/launcher.mjs bench), so benchmarks may use the emulators. `all` runs
// each benchmark in a process of its own (they configure clients differently).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { report } from './targets.mjs';

const benches = {
  'cold-start': async () => (await import('./cold-start.mjs')).coldStart(),
  webhook: async () => (await import('./webhook.mjs')).webhook(),
  rotation: async () => (await import('./rotation.mjs')).rotation(),
  export: async () => (await import('./export.mjs')).exportBench(),
  health: async () => (await import('./health.mjs')).health(),
  judge: async () => (await import('./judge.mjs')).judge(),
};

const which = process.argv[2] ?? 'all';
if (which === 'all') {
  let failed = 0;
  for (const name of Object.keys(benches)) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name], { stdio: 'inherit' });
    if (r.status !== 0) failed += 1;
  }
  process.exit(failed ? 1 : 0);
}
const bench = benches[which];
if (!bench) {
  console.error(`unknown benchmark '${which}': ${Object.keys(benches).join(', ')}, all`);
  process.exit(2);
}
console.log(`\n== ${which}`);
const result = await bench();
const out = path.resolve(import.meta.dirname, '..', '..', 'bench-results');
mkdirSync(out, { recursive: true });
writeFileSync(
  path.join(out, `bench-${which}-${Date.now()}.json`),
  JSON.stringify({ [which]: result }, null, 2),
);
const missed = report(which, result?.targets);
process.exit(missed ? 1 : 0);
