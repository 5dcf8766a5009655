// Alert routing (settings/alerts): which channels an alert goes to, whether quiet hours hold it, and the signature
// of the generic webhook. Pure; the notifier (platform/notifier.ts) applies it.
//
// Decisions (docs/admin-guide.md "Alerts"), after Alertmanager, PagerDuty and Grafana's contact points:
// - Every route that matches adds its channels (Alertmanager with `continue: true` on every route): who receives an
//   alert is the union of the routes that name it, readable off the document. An alert no route matches goes to
//   the catch-all channel `default` (the legacy `webhookSecret`), if there is one; otherwise it is only logged.
// - Quiet hours hold what is below their severity and deliver it when they end (PagerDuty's "defer until"), they
//   do not drop it: an auditor asks where a warning went, and "nowhere" is the wrong answer. Critical alerts
//   always go at once (`minSeverity` is at most critical).
// - Deduplication by (kind, target) per channel within `dedupMinutes` is off by default (0): the alert ids fireops
//   builds already deduplicate redeliveries and reminders; the window is for noisy kinds an admin wants quieter.
import { createHmac } from 'node:crypto';

export type Severity = 'info' | 'warning' | 'critical';

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** The channel the legacy `webhookSecret` defines: it receives what no route names. */
export const DEFAULT_CHANNEL = 'default';

export interface AlertRoute {
  /** Alert kinds: exact (`backup.failed`), a prefix (`rollout.*`) or `*`. */
  kinds: readonly string[];
  minSeverity: Severity;
  channels: readonly string[];
}

export interface QuietHours {
  /** Local wall-clock times, `HH:MM` (24 h); a window across midnight when start > end. */
  start: string;
  end: string;
  /** An IANA time zone (`Africa/Lagos`). */
  timeZone: string;
  /** Alerts at or above this are delivered during quiet hours; the rest wait for the end. */
  minSeverity: Severity;
}

export interface RoutingSettings {
  routes?: readonly AlertRoute[] | undefined;
  /** Whether a `default` channel exists (webhookSecret, or a channel named default). */
  hasDefault: boolean;
}

export function atLeast(severity: Severity, min: Severity): boolean {
  return RANK[severity] >= RANK[min];
}

/** `*` matches every kind, `a.*` every kind starting `a.`, anything else exactly. */
export function kindMatches(pattern: string, kind: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return kind.startsWith(pattern.slice(0, -1));
  return pattern === kind;
}

/** The channels an alert goes to, sorted: the union of the matching routes', else `default` if it exists. */
export function routeAlert(settings: RoutingSettings, alert: { kind: string; severity: Severity }): string[] {
  const matched = (settings.routes ?? []).filter(
    (r) => r.kinds.some((k) => kindMatches(k, alert.kind)) && atLeast(alert.severity, r.minSeverity),
  );
  if (matched.length === 0) return settings.hasDefault ? [DEFAULT_CHANNEL] : [];
  return [...new Set(matched.flatMap((r) => r.channels))].sort();
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Minutes since local midnight of `ms` in `timeZone`. */
export function localMinutes(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

/** Whether `timeZone` is an IANA zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * When quiet hours hold an alert of `severity` at `nowMs`: the instant they end (ms), or undefined when the alert
 * goes now (outside the window, or at or above its severity). Wall-clock minutes: across a DST change the end is
 * found by checking the candidate instant and the hour either side of it.
 */
export function quietUntil(q: QuietHours | undefined, severity: Severity, nowMs: number): number | undefined {
  if (!q || atLeast(severity, q.minSeverity)) return undefined;
  const start = minutesOf(q.start);
  const end = minutesOf(q.end);
  const m = localMinutes(nowMs, q.timeZone);
  const inside = start < end ? m >= start && m < end : m >= start || m < end;
  if (!inside) return undefined;
  const minuteStart = Math.floor(nowMs / 60_000) * 60_000;
  const candidate = minuteStart + ((end - m + 1440) % 1440) * 60_000;
  for (const c of [candidate, candidate - 3_600_000, candidate + 3_600_000]) {
    if (c > nowMs && localMinutes(c, q.timeZone) === end) return c;
  }
  return candidate;
}

/**
 * The generic webhook's signature header value: `sha256=` + hex HMAC-SHA256, keyed with the signing secret, of
 * `{timestamp}.{body}` (the timestamp is the X-Fireops-Timestamp header, seconds since the epoch), as Stripe and
 * Slack sign theirs: the timestamp inside the MAC lets a receiver refuse replays older than its window.
 */
export function webhookSignature(secret: string, timestampSeconds: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`;
}
