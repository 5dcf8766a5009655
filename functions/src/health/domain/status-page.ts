// The public status page, as pure functions: what it keeps (`foldPublicDays`: 90 days of daily counts per public
// component, folded from the summary's 30) and what it shows (`renderStatusPage`: one HTML document).
//
// Built for readers on slow, expensive mobile networks (Bvester's users): one request, no framework, no web font,
// no image; CSS inline; readable with scripts off (everything is server-rendered; times are written in UTC inside
// <time datetime>, and a script of a few hundred bytes rewrites them in the reader's time zone when it can run).
// The bars of 90 days are one inline SVG per component: a green background and a rect only for days that were not
// all good, so a healthy component costs ~250 bytes whatever the days.
//
// Public means public: only checks with a `public` block appear, under their public name and group. Never targets,
// failure reasons, regions, check ids of private checks, or incident `why`.
import type { HealthState } from './health';
import type { HealthSummary, SummaryBucket } from './summary';

export const PUBLIC_DAYS = 90;
const DAY_MS = 86_400_000;

export interface PublicComponent {
  name: string;
  group: string | null;
  /** `yyyy-mm-dd` (UTC) -> [total, good, maintenance]; the newest PUBLIC_DAYS days. */
  days: Record<string, SummaryBucket>;
}

/** `healthSummary/public`: what the status page shows of the checks marked public. */
export interface PublicStatusDoc {
  updatedAtMs: number;
  throughMs: number;
  components: Record<string, PublicComponent>;
}

/**
 * Folds the summary's daily buckets (30 days, authoritative for the days it holds) over the previous document's
 * (which remembers up to 90), for the checks that are public now; older days drop out.
 */
export function foldPublicDays(
  previous: PublicStatusDoc | undefined,
  summary: HealthSummary,
  publics: Readonly<Record<string, { name: string; group?: string | undefined }>>,
  nowMs: number,
): PublicStatusDoc {
  const oldest = new Date(Math.floor(summary.throughMs / DAY_MS) * DAY_MS - (PUBLIC_DAYS - 1) * DAY_MS)
    .toISOString()
    .slice(0, 10);
  const components: Record<string, PublicComponent> = {};
  for (const [id, pub] of Object.entries(publics)) {
    const days: Record<string, SummaryBucket> = {};
    for (const [date, bucket] of Object.entries(previous?.components[id]?.days ?? {}))
      if (date >= oldest) days[date] = [...bucket];
    for (const [start, bucket] of Object.entries(summary.checks[id]?.days ?? {})) {
      const date = start.slice(0, 10);
      if (date >= oldest) days[date] = [...bucket];
    }
    components[id] = { name: pub.name, group: pub.group ?? null, days };
  }
  return { updatedAtMs: nowMs, throughMs: summary.throughMs, components };
}

/** An incident as the page shows it: no `why`, no regions. */
export interface PublicIncident {
  component: string;
  state: 'open' | 'resolved';
  openedAtMs: number;
  resolvedAtMs: number | null;
  lastReminderAtMs: number;
  reminders: number;
}

export interface StatusPageInput {
  doc: PublicStatusDoc | undefined;
  states: Readonly<Record<string, HealthState>>;
  /** Open incidents and those resolved in the last 24 h, of public components only. */
  incidents: readonly PublicIncident[];
  nowMs: number;
  title?: string;
}

const STATE_TEXT: Record<HealthState, string> = {
  up: 'Operational',
  degraded: 'Degraded',
  down: 'Outage',
  unknown: 'No data',
};

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const utc = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
const time = (ms: number) => `<time datetime="${new Date(ms).toISOString()}">${utc(ms)}</time>`;

function uptimeOfDays(days: Record<string, SummaryBucket>): number | null {
  let total = 0;
  let good = 0;
  for (const [t, g, m] of Object.values(days)) {
    total += t - m;
    good += g;
  }
  return total > 0 ? good / total : null;
}

/**
 * 90 bars: one SVG, green behind; days that had failures (red, amber under 1%) or no data (grey) drawn over it,
 * consecutive days of one kind as one rect, each titled with its dates.
 */
function bars(days: Record<string, SummaryBucket>, throughMs: number): string {
  const last = Math.floor((throughMs - 1) / DAY_MS) * DAY_MS;
  const kinds: { cls: string; date: string }[] = [];
  for (let k = 0; k < PUBLIC_DAYS; k += 1) {
    const date = new Date(last - (PUBLIC_DAYS - 1 - k) * DAY_MS).toISOString().slice(0, 10);
    const b = days[date];
    const counted = b ? b[0] - b[2] : 0;
    const cls = !b || counted <= 0 ? 'n' : b[1] >= counted ? 'g' : b[1] / counted >= 0.99 ? 'w' : 'x';
    kinds.push({ cls, date });
  }
  let rects = '';
  for (let k = 0; k < kinds.length;) {
    let end = k;
    while (end + 1 < kinds.length && kinds[end + 1]!.cls === kinds[k]!.cls) end += 1;
    const { cls, date } = kinds[k]!;
    if (cls !== 'g') {
      const dates = end > k ? `${date} to ${kinds[end]!.date}` : date;
      const what = cls === 'n' ? 'no data' : cls === 'w' ? 'minor failures' : 'failures';
      rects +=
        `<rect class="${cls}" x="${k * 3}" width="${(end - k) * 3 + 2}" height="20">` +
        `<title>${dates}: ${what}</title></rect>`;
    }
    k = end + 1;
  }
  return (
    `<svg viewBox="0 0 270 20" preserveAspectRatio="none" role="img" aria-label="last ${PUBLIC_DAYS} days">` +
    `<rect class="g" width="270" height="20"/>${rects}</svg>`
  );
}

const CSS =
  'body{font:16px/1.4 system-ui,sans-serif;margin:0 auto;max-width:720px;padding:12px;color:#222}' +
  'h1{font-size:1.3em}h2{font-size:1.05em;margin:1.2em 0 .4em}' +
  '.c{border:1px solid #ddd;border-radius:6px;padding:8px 10px;margin:6px 0}' +
  '.h{display:flex;justify-content:space-between;gap:8px}.s{font-weight:600}' +
  '.up{color:#187a3a}.degraded{color:#9a6700}.down{color:#b42318}.unknown{color:#666}' +
  'svg{width:100%;height:20px;display:block;margin-top:6px}.g{fill:#3fb950}.x{fill:#d1242f}.w{fill:#d4a72c}.n{fill:#ccc}' +
  '.i{border-left:4px solid #b42318;padding:4px 10px;margin:6px 0}.r{border-color:#3fb950}small{color:#666}';

// Rewrites every <time datetime> in the reader's time zone; without scripts the UTC text stays.
const SCRIPT =
  'for(const t of document.querySelectorAll("time[datetime]"))' +
  't.textContent=new Date(t.dateTime).toLocaleString([],{dateStyle:"medium",timeStyle:"short"})';

export function renderStatusPage(input: StatusPageInput): string {
  const { doc, states, incidents, nowMs } = input;
  const title = input.title ?? 'Service status';
  const ids = Object.keys(doc?.components ?? {}).sort((a, b) => {
    const ca = doc!.components[a]!;
    const cb = doc!.components[b]!;
    return `${ca.group ?? ''}\u0000${ca.name}`.localeCompare(`${cb.group ?? ''}\u0000${cb.name}`);
  });
  const worst = ids.some((id) => states[id] === 'down')
    ? 'down'
    : ids.some((id) => states[id] === 'degraded')
      ? 'degraded'
      : ids.length
        ? 'up'
        : 'unknown';
  const headline =
    worst === 'up'
      ? 'All systems operational'
      : worst === 'down'
        ? 'Some systems are down'
        : worst === 'degraded'
          ? 'Some systems are degraded'
          : 'No status yet';
  let body = `<h1>${esc(title)}</h1><p class="s ${worst}">${headline}</p>`;
  const open = incidents.filter((i) => i.state === 'open');
  const recent = incidents.filter((i) => i.state === 'resolved');
  if (open.length || recent.length) {
    body += '<h2>Incidents</h2>';
    for (const i of [...open, ...recent]) {
      const updates =
        i.state === 'open'
          ? `Investigating since ${time(i.openedAtMs)}` +
            (i.reminders > 0 ? `. Still down at ${time(i.lastReminderAtMs)}` : '')
          : `Resolved at ${time(i.resolvedAtMs ?? i.openedAtMs)} (down since ${time(i.openedAtMs)})`;
      body += `<div class="i${i.state === 'resolved' ? ' r' : ''}"><b>${esc(i.component)}</b>: ${updates}</div>`;
    }
  }
  let group: string | null | undefined;
  body += '<h2>Components</h2>';
  for (const id of ids) {
    const c = doc!.components[id]!;
    if (c.group !== group) {
      group = c.group;
      if (group) body += `<h2>${esc(group)}</h2>`;
    }
    const state = states[id] ?? 'unknown';
    const up = uptimeOfDays(c.days);
    body +=
      `<div class="c"><div class="h"><span>${esc(c.name)}</span>` +
      `<span class="s ${state}">${STATE_TEXT[state]}</span></div>${bars(c.days, doc!.throughMs)}` +
      `<small>${PUBLIC_DAYS} days${up === null ? '' : `: ${(Math.floor(up * 10000) / 100).toFixed(2)}% uptime`}</small></div>`;
  }
  if (!ids.length) body += '<p>No components are published yet.</p>';
  body += `<p><small>Updated ${time(nowMs)}. Refreshes within a minute.</small></p>`;
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    // No favicon request: one round trip saved on a 400 ms network.
    '<link rel="icon" href="data:,">' +
    `<title>${esc(title)}</title><style>${CSS}</style></head><body>${body}` +
    `<script>${SCRIPT}</script></body></html>`
  );
}
