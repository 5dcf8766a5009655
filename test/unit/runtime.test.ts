// Tests run on the runtime fireops deploys to: npm scripts put node_modules/.bin (the `node` devDependency) first
// on PATH, and vitest's workers run on the node that started vitest.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const engines = (file: string): unknown =>
  (JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8')) as { engines?: { node?: unknown } })
    .engines?.node;

describe('runtime', () => {
  it('the root and functions/ declare the same Node.js engine, the deployed nodejs22', () => {
    expect(engines('../../package.json')).toBe('22');
    expect(engines('../../functions/package.json')).toBe('22');
  });

  it('vitest workers run on that Node.js major', () => {
    expect(process.versions.node.split('.')[0]).toBe(engines('../../functions/package.json'));
  });
});
