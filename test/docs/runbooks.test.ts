// Every alert kind has a runbook, every runbook page is a kind, and each says what it means, how to confirm, what
// to do and how to undo (issue 15). The kinds come from the code twice: ALERT_KINDS (which types every alert's
// `kind`), and a scan of functions/src for `kind: '<a>.<b>'` literals, so a kind raised without being listed (a
// cast, a new file) fails here too. Also: every alert carries its runbook's URL, and the chat message links it.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERT_KINDS, isAlertKind, runbookUrl } from '../../functions/src/platform/domain/alert-kinds';
import { alertPublish } from '../../functions/src/platform/alerts';
import { chatMessageFor } from '../../functions/src/platform/chat-webhook';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const RUNBOOKS = path.join(ROOT, 'docs', 'runbooks');
const NOT_KINDS = new Set(['README.md', 'restore-from-backup.md']);
const SECTIONS = ['What it means', 'How to confirm', 'What to do', 'How to undo'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.join(dir, e.name)]
        : [],
  );
}

describe('runbooks', () => {
  const kinds = Object.keys(ALERT_KINDS);

  it('exist for every alert kind, with the four sections filled in', () => {
    expect(kinds.length).toBeGreaterThanOrEqual(20);
    for (const kind of kinds) {
      const file = path.join(RUNBOOKS, `${kind}.md`);
      const text = readFileSync(file, 'utf8');
      expect(text, kind).toContain(`# Runbook: \`${kind}\``);
      for (const section of SECTIONS) {
        const at = text.indexOf(`## ${section}\n`);
        expect(at, `${kind}: ${section}`).toBeGreaterThan(0);
        const body = text
          .slice(at + section.length + 4)
          .split('\n## ')[0]!
          .trim();
        expect(body.length, `${kind}: ${section} is empty`).toBeGreaterThan(10);
      }
    }
  });

  it('are only pages of alert kinds (plus the index and the restore runbook), all listed in the index', () => {
    const pages = readdirSync(RUNBOOKS).filter((f) => f.endsWith('.md') && !NOT_KINDS.has(f));
    expect(pages.map((p) => p.replace(/\.md$/, '')).sort()).toEqual([...kinds].sort());
    const index = readFileSync(path.join(RUNBOOKS, 'README.md'), 'utf8');
    for (const kind of kinds) expect(index, kind).toContain(`](${kind}.md)`);
  });

  it('cover every alert kind the code spells out', () => {
    const found = new Set<string>();
    for (const file of sourceFiles(path.join(ROOT, 'functions', 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bkind: '([a-z]+\.[a-z-]+)'/g)) found.add(m[1]!);
    }
    expect(found.size).toBeGreaterThan(15);
    expect([...found].filter((k) => !isAlertKind(k))).toEqual([]);
  });

  it('are linked from every alert, and from its chat message', () => {
    const published = alertPublish({
      alertId: 'a-1',
      severity: 'critical',
      kind: 'incident.opened',
      title: 'API is down',
      text: 'down in 2 of 3 regions',
      target: 'incidents/api_x',
      correlationId: 'c-1',
      atMs: 0,
    });
    const data = published.data as { runbookUrl: string };
    expect(data.runbookUrl).toMatch(/^https:\/\/.+\/docs\/runbooks\/incident\.opened\.md$/);
    const chat = chatMessageFor({ ...(published.data as Parameters<typeof chatMessageFor>[0]) });
    expect(chat.text).toContain(`<${data.runbookUrl}|Runbook: incident.opened>`);
    // A URL that could break out of the link syntax is not linked.
    const odd = chatMessageFor({
      ...(published.data as Parameters<typeof chatMessageFor>[0]),
      runbookUrl: 'https://x/|<y>',
    });
    expect(odd.text).not.toContain('Runbook');
    expect(runbookUrl('https://docs.example/runbooks/', 'backup.failed')).toBe(
      'https://docs.example/runbooks/backup.failed.md',
    );
  });
});
