// Every relative link and image in the repository's Markdown resolves: the file exists, and an `#anchor` names a
// heading of the target as GitHub slugs it (markdown-links.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { anchorsOf, brokenLinks, githubSlug, headingText, linksIn, markdownFiles } from './markdown-links';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

describe('Markdown links of the repository', () => {
  it('all resolve', () => {
    const files = markdownFiles(ROOT);
    expect(files).toContain('README.md');
    const broken = brokenLinks(ROOT, files).map((l) => `${l.file}:${l.line}: (${l.target}) ${l.reason}`);
    expect(broken, `${broken.length} broken links:\n${broken.join('\n')}`).toEqual([]);
  });
});

// The checker itself, so that a pass above means something.
describe('the link checker', () => {
  it.each([
    ['What admins edit (Firestore schema)', 'what-admins-edit-firestore-schema'],
    ['`flags/{key}`', 'flagskey'],
    ['`settings/github` (admins edit)', 'settingsgithub-admins-edit'],
    ['`healthChecks/{id}` (admins edit)', 'healthchecksid-admins-edit'],
    [
      'Metric windows `metrics/{service}/windows/{minuteMs}_{cohort}`',
      'metric-windows-metricsservicewindowsminutems_cohort',
    ],
    ['Cost for 200 checks a minute from 2 regions', 'cost-for-200-checks-a-minute-from-2-regions'],
    ['A - B', 'a---b'],
    ['[Linked](https://example.com) *and* _emphasised_ PROBE_REGIONS', 'linked-and-emphasised-probe_regions'],
    ['Ünïcode café', 'ünïcode-café'],
  ])('slugs %j as GitHub does: %s', (heading, slug) => {
    expect(githubSlug(headingText(heading))).toBe(slug);
  });

  it('numbers repeated headings and ignores headings in code blocks', () => {
    const anchors = anchorsOf('# Tests\n\n## Tests\n\n```sh\n# not a heading\n```\n\nSetext\n------\n');
    expect([...anchors].sort()).toEqual(['setext', 'tests', 'tests-1']);
  });

  it('finds links and images outside code, with titles, angle brackets and reference definitions', () => {
    const text = [
      'See [a](a.md "title"), ![img](img/x.png) and [b](<b c.md#d>).',
      'Not `[code](code.md)`.',
      '[c]: c.md',
      '```',
      '[fenced](fenced.md)',
      '```',
      '<a href="d.md">d</a> [ext](https://example.com)',
    ].join('\n');
    expect(linksIn(text, 'x.md').map((l) => [l.line, l.target])).toEqual([
      [1, 'a.md'],
      [1, 'img/x.png'],
      [1, 'b c.md#d'],
      [3, 'c.md'],
      [7, 'https://example.com'],
      [7, 'd.md'],
    ]);
  });

  const dir = mkdtempSync(path.join(tmpdir(), 'fireops-links-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a missing file, a missing anchor, a missing line and a link out of the tree; passes good ones', () => {
    mkdirSync(path.join(dir, 'docs'));
    writeFileSync(path.join(dir, 'code.ts'), 'one\ntwo\n');
    writeFileSync(path.join(dir, 'docs', 'guide.md'), '# Guide\n\n## The `status` endpoint\n');
    writeFileSync(
      path.join(dir, 'README.md'),
      [
        '# Top',
        '[ok](docs/guide.md#the-status-endpoint) [ok](#top) [ok](docs/) [ok](code.ts#L2) [ok](/docs/guide.md)',
        '[gone](docs/missing.md)',
        '[anchor](docs/guide.md#status)',
        '[self](#bottom)',
        '[line](code.ts#L9)',
        '[out](../elsewhere.md)',
      ].join('\n'),
    );
    expect(brokenLinks(dir, ['README.md', 'docs/guide.md']).map((l) => [l.line, l.reason])).toEqual([
      [3, 'docs/missing.md does not exist'],
      [4, 'docs/guide.md has no heading #status'],
      [5, 'README.md has no heading #bottom'],
      [6, 'code.ts has no line 9'],
      [7, 'points outside the repository'],
    ]);
  });
});
