// The stand-ins' types are written once, as JSDoc in the .mjs files, and checked by `npm run typecheck` through
// `// @ts-check` (emulators/README.md says why). A hand-written declaration file beside a module would hide the
// module from tsc again (it reads the .d.mts instead) and let the two drift, as they did before.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const EMULATORS = path.resolve(import.meta.dirname, '..', '..', 'emulators');
// Entry scripts with no exports of their own that other code imports.
const UNCHECKED = new Set(['launcher.mjs', 'dev-session.mjs', 'fire.mjs', 'demo.mjs']);

const files = readdirSync(EMULATORS, { recursive: true, encoding: 'utf8' }).map((f) =>
  f.split(path.sep).join('/'),
);

describe('emulators/ types', () => {
  it('has no hand-written declaration files', () => {
    expect(files.filter((f) => /\.d\.(m|c)?ts$/.test(f))).toEqual([]);
  });

  it.each(files.filter((f) => f.endsWith('.mjs') && !UNCHECKED.has(f)))('%s is type-checked', (file) => {
    expect(readFileSync(path.join(EMULATORS, file), 'utf8').split('\n', 1)[0]).toBe('// @ts-check');
  });
});
