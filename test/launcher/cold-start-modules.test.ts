// Cold start (issue 16.7): what a new instance loads before its first request is what every function pays. The
// engines that only scheduled functions use load on their first run, not with functions/lib/index.js.
// Needs the build (`launcher.mjs test` builds first).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/functions-require';

const FUNCTIONS = path.join(ROOT, 'functions');

/** Files under functions/lib that loading index.js in a fresh process loads, relative to lib/. */
function loadedAtStart(): string[] {
  const script = `require(${JSON.stringify(path.join(FUNCTIONS, 'lib', 'index.js'))});
    process.stdout.write(JSON.stringify(Object.keys(require.cache)))`;
  const out = execFileSync(process.execPath, ['-e', script], {
    cwd: FUNCTIONS,
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: path.join(FUNCTIONS, 'node_modules'), GCLOUD_PROJECT: 'demo-fireops' },
  });
  const lib = path.join(FUNCTIONS, 'lib') + path.sep;
  return (JSON.parse(out) as string[]).filter((f) => f.startsWith(lib)).map((f) => f.slice(lib.length));
}

describe('functions/lib/index.js at cold start', () => {
  it('does not load the health prober, the health engine, the backup engine, the canary controller, reference.js or the CLI', () => {
    const loaded = loadedAtStart();
    expect(loaded).toContain('index.js');
    expect(
      loaded.filter(
        (f) =>
          [
            'health/probe.js',
            'health/engine.js',
            'backups/export.js',
            'backups/monitor.js',
            'backups/retention.js',
            'backups/drill.js',
            'canary/controller.js',
            'platform/domain/ip-ranges.js',
            // What the generated reference documents: zod and every schema, for docs only.
            'reference.js',
          ].includes(f) || f.startsWith('cli/'),
      ),
    ).toEqual([]);
  });
});
