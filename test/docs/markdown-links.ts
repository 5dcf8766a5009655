// The link checker behind links.test.ts: every relative link and image in the repository's Markdown resolves to a
// file, and every `#anchor` to a heading of the target, slugged the way GitHub slugs them (github-slugger).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Link {
  file: string;
  line: number;
  target: string;
}

export interface BrokenLink extends Link {
  reason: string;
}

const SKIPPED_DIRS = new Set(['node_modules', '.git', '.cache', 'lib', 'coverage', 'bench-results']);

/**
 * The Markdown files of the repository, relative to root: what git tracks or would track (untracked files that
 * are not ignored count, so a new page is checked before its first commit); every *.md outside node_modules and
 * build output where root is not a git checkout.
 */
export function markdownFiles(root: string): string[] {
  try {
    const out = execFileSync(
      'git',
      ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '*.md'],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    return [...new Set(out.split('\0').filter(Boolean))]
      .filter((f) => !f.split('/').includes('node_modules') && existsSync(path.join(root, f)))
      .sort();
  } catch {
    return walk(root, '').sort();
  }
}

function walk(root: string, dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : walk(root, rel);
    return entry.name.toLowerCase().endsWith('.md') ? [rel] : [];
  });
}

// ------------------------------------------------------------------------------------------------- parsing

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** The lines of a Markdown text with fenced code blocks blanked (line numbers kept). */
function proseLines(text: string): string[] {
  let fence: string | undefined;
  return text.split(/\r?\n/).map((line) => {
    const m = FENCE.exec(line);
    if (fence !== undefined) {
      if (m?.[1] && m[1][0] === fence[0] && m[1].length >= fence.length && line.trim() === m[1]) {
        fence = undefined;
      }
      return '';
    }
    if (m?.[1]) {
      fence = m[1];
      return '';
    }
    return line;
  });
}

const CODE_SPAN = /(`+)([\s\S]*?[^`])\1(?!`)/g;
const INLINE_LINK =
  /!?\[(?:[^[\]\\]|\\.|\[(?:[^[\]\\]|\\.)*\])*\]\(\s*(<[^>\n]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g;
const REFERENCE_DEFINITION = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/;
const HTML_LINK = /<(?:a|img|source)\b[^>]*?\s(?:href|src)\s*=\s*["']([^"']+)["']/gi;

/** Every link and image target in a Markdown text, outside code. */
export function linksIn(text: string, file: string): Link[] {
  const links: Link[] = [];
  proseLines(text).forEach((raw, index) => {
    const line = raw.replace(CODE_SPAN, (span) => ' '.repeat(span.length));
    const add = (target: string) =>
      links.push({ file, line: index + 1, target: target.replace(/^<(.*)>$/, '$1') });
    for (const m of line.matchAll(INLINE_LINK)) add(m[1]!);
    for (const m of line.matchAll(HTML_LINK)) add(m[1]!);
    const definition = REFERENCE_DEFINITION.exec(line);
    if (definition) add(definition[1]!);
  });
  return links;
}

// ------------------------------------------------------------------------------------------------- anchors

/** GitHub's heading id (github-slugger): lowercase, punctuation and symbols dropped, each space a '-'. */
export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The text GitHub renders for a heading's Markdown: code spans, links and emphasis reduced to their text. */
export function headingText(markdown: string): string {
  const parts: string[] = [];
  let last = 0;
  for (const m of markdown.matchAll(CODE_SPAN)) {
    parts.push(prose(markdown.slice(last, m.index)), m[2]!.replace(/^ (.*) $/, '$1'));
    last = m.index + m[0].length;
  }
  parts.push(prose(markdown.slice(last)));
  return parts.join('').trim();
}

function prose(s: string): string {
  return (
    s
      .replace(/!?\[((?:[^[\]]|\[[^\]]*\])*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      // `_` opens or closes emphasis at a word's edge only; inside a word (snake_case) it is a character.
      .replace(/(^|[^\p{L}\p{N}_])_+(?=\S)/gu, '$1')
      .replace(/(?<=\S)_+(?=$|[^\p{L}\p{N}_])/gu, '')
  );
}

/** The anchors a Markdown file offers: heading slugs (repeats get -1, -2, ...) and explicit HTML ids and names. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  // github-slugger's occurrence count: a repeated slug gets the next free `-n` suffix.
  const occurrences = new Map<string, number>();
  const addHeading = (markdown: string) => {
    const base = githubSlug(headingText(markdown));
    let slug = base;
    while (occurrences.has(slug)) {
      const n = (occurrences.get(base) ?? 0) + 1;
      occurrences.set(base, n);
      slug = `${base}-${n}`;
    }
    occurrences.set(slug, 0);
    anchors.add(slug);
  };
  const lines = proseLines(text);
  lines.forEach((line, index) => {
    const atx = /^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (atx) addHeading(atx[1] ?? '');
    const next = lines[index + 1];
    const previous = lines[index - 1];
    if (
      next !== undefined &&
      /^ {0,3}(?:=+|-+)[ \t]*$/.test(next) &&
      line.trim() !== '' &&
      !atx &&
      (previous === undefined || previous.trim() === '') &&
      !/^ {0,3}(?:[-*+>|]|\d+[.)])/.test(line)
    ) {
      addHeading(line.trim());
    }
    for (const m of line.matchAll(/<[a-z][^>]*?\s(?:id|name)\s*=\s*["']([^"']+)["']/gi)) anchors.add(m[1]!);
  });
  return anchors;
}

// ---------------------------------------------------------------------------------------------- resolution

/** Links that do not resolve: a missing file, a file outside root, or an anchor no heading of the target has. */
export function brokenLinks(root: string, files: string[]): BrokenLink[] {
  const anchorCache = new Map<string, Set<string>>();
  const anchors = (abs: string) => {
    let set = anchorCache.get(abs);
    if (!set) anchorCache.set(abs, (set = anchorsOf(readFileSync(abs, 'utf8'))));
    return set;
  };
  const broken: BrokenLink[] = [];
  for (const file of files) {
    const abs = path.join(root, file);
    for (const link of linksIn(readFileSync(abs, 'utf8'), file)) {
      const reason = check(root, abs, link.target, anchors);
      if (reason) broken.push({ ...link, reason });
    }
  }
  return broken;
}

function check(
  root: string,
  from: string,
  target: string,
  anchors: (abs: string) => Set<string>,
): string | undefined {
  // External (https:, mailto:, protocol-relative): not this check's business.
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined;
  const hash = target.indexOf('#');
  const rawPath = (hash < 0 ? target : target.slice(0, hash)).replace(/\?.*$/, '');
  const anchor = hash < 0 ? '' : target.slice(hash + 1);
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return 'is not a valid URL path';
  }
  const resolved =
    decoded === ''
      ? from
      : decoded.startsWith('/')
        ? path.join(root, decoded)
        : path.resolve(path.dirname(from), decoded);
  const relative = path.relative(root, resolved);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return 'points outside the repository';
  if (!existsSync(resolved)) return `${relative || '.'} does not exist`;
  if (anchor === '') return undefined;
  if (statSync(resolved).isDirectory()) return `#${anchor} on a directory`;
  const wanted = safeDecode(anchor);
  if (resolved.toLowerCase().endsWith('.md')) {
    return anchors(resolved).has(wanted) ? undefined : `${relative} has no heading #${wanted}`;
  }
  // GitHub's line anchors into other files: #L10 or #L10-L20.
  const lines = /^L(\d+)(?:-L(\d+))?$/.exec(wanted);
  if (lines) {
    const count = readFileSync(resolved, 'utf8').split('\n').length;
    const last = Number(lines[2] ?? lines[1]);
    return last <= count ? undefined : `${relative} has no line ${last}`;
  }
  return undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
