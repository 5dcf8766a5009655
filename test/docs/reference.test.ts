// docs/reference is generated from the code (functions/scripts/reference.mjs): this fails when the committed files
// differ from what the current build generates. Needs the build (`launcher.mjs test` builds first).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REFERENCE_DIR, compareReference, generate, listFiles } from '../../functions/scripts/reference.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const generated = generate();

/** The function ids of a generated functions.md, in table order, with the rest of each row. */
function functionRows(markdown: string): [string, string][] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [, id = '', rest = ''] = /^\| `([^`]+)` \|(.*)$/.exec(line) ?? [];
      return [id, rest];
    });
}

describe('docs/reference', () => {
  it('is what the code generates, byte for byte, with no other files', () => {
    expect(compareReference(generated, listFiles(REFERENCE_DIR), REFERENCE_DIR)).toBeUndefined();
  });

  it('names a schema file for every admin document and links each from documents.md', () => {
    const schemas = Object.keys(generated).filter((f) => f.startsWith('schemas/'));
    expect(schemas.length).toBeGreaterThanOrEqual(9);
    for (const file of schemas) expect(generated['documents.md']).toContain(`](${file})`);
  });

  it('documents every collection firestore.rules lets admins write', () => {
    const rules = readFileSync(path.join(ROOT, 'firestore.rules'), 'utf8');
    const writable = [...rules.matchAll(/match \/(\w+)\/\{\w+\}\s*\{([^}]*)\}/g)]
      .filter(([, , body]) => /allow [^:]*\b(?:create|update|write)\b/.test(body!))
      .map(([, collection]) => collection);
    expect(writable).toContain('flags');
    for (const collection of writable) expect(generated['documents.md']).toContain(`| \`${collection}/`);
  });

  it('lists every setting platform/params.ts reads from the environment', () => {
    const params = path.join(ROOT, 'functions', 'src', 'platform', 'params.ts');
    const names = [...readFileSync(params, 'utf8').matchAll(/\benv\.([A-Z0-9_]+)/g)]
      .map((m) => m[1])
      .filter((name) => name !== 'GCLOUD_PROJECT'); // set by the platform, not a setting
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(generated['params.md']).toContain(`| \`${name}\` |`);
  });

  it('names the functions of a deploy group `group-name`', () => {
    const grouped = generate({ index: path.join(import.meta.dirname, 'fixtures', 'grouped-index.cjs') });
    const flat = functionRows(generated['functions.md']!);
    expect(flat.length).toBeGreaterThan(20);
    expect(functionRows(grouped['functions.md']!)).toEqual(flat.map(([id, rest]) => [`outer-${id}`, rest]));
  });
});

describe('compareReference', () => {
  const files = { 'README.md': 'a\n', 'schemas/x.schema.json': '{}\n' };
  const dir = '/nonexistent';
  const read = (contents: Record<string, string>) => (file: string) => contents[file];

  it('passes when every file is there with the same bytes and nothing else is', () => {
    expect(compareReference(files, Object.keys(files), dir, read(files))).toBeUndefined();
  });

  it.each([
    ['a file differs', { ...files, 'README.md': 'b\n' }, Object.keys(files), 'README.md differs'],
    ['a file is missing', files, ['README.md'], 'schemas/x.schema.json is missing'],
    [
      'a file is not generated',
      { ...files, 'old.md': 'x' },
      [...Object.keys(files), 'old.md'],
      'old.md is not generated',
    ],
  ])('fails, naming the first file, when %s', (_, onDisk, listed, problem) => {
    expect(compareReference(files, listed, dir, read(onDisk))).toBe(
      `docs/reference is stale: run npm run docs:reference (${problem})`,
    );
  });
});
