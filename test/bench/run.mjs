// `npm run bench [name]`: benchmarks, each printing its figures as ratios against a baseline from the same run.
// Runs inside the emulator suite (emulators/launcher.mjs bench), so benchmarks may use the emulators.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { coldStart } from './cold-start.mjs';
import { webhook } from './webhook.mjs';

const benches = {
  'cold-start': coldStart,
  webhook,
};

const which = process.argv[2] ?? 'all';
const names = which === 'all' ? Object.keys(benches) : [which];
const results = {};
for (const name of names) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark '${name}': ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== ${name}`);
  results[name] = await bench();
}
const out = path.resolve(import.meta.dirname, '..', '..', 'bench-results');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, `bench-${Date.now()}.json`), JSON.stringify(results, null, 2));
