// The public status page's pure parts (health/domain/status-page.ts): 90 days folded from the summary's 30, and
// the HTML: public names only, escaped, small.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  foldPublicDays,
  renderStatusPage,
  type PublicStatusDoc,
} from '../../functions/src/health/domain/status-page';
import type { HealthSummary } from '../../functions/src/health/domain/summary';

const DAY = 86_400_000;
const T = Date.UTC(2026, 11, 5, 12, 0);
const day = (n: number) => new Date(Math.floor(T / DAY) * DAY - n * DAY).toISOString().slice(0, 10);

function summary(days: Record<string, [number, number, number]>): HealthSummary {
  return {
    updatedAtMs: T,
    throughMs: T,
    checks: {
      api: {
        name: 'api-internal',
        tags: [],
        sloTarget: 99.9,
        tenMinutes: {},
        hours: {},
        days: Object.fromEntries(Object.entries(days).map(([d, b]) => [`${d}T00:00Z`, b])),
      },
    },
  };
}

describe('foldPublicDays', () => {
  it('keeps 90 days: the summary is authoritative for its days, the previous document for older ones', () => {
    const previous: PublicStatusDoc = {
      updatedAtMs: 0,
      throughMs: 0,
      components: {
        api: {
          name: 'Old name',
          group: null,
          days: { [day(45)]: [10, 9, 0], [day(2)]: [1, 0, 0], [day(95)]: [5, 5, 0] },
        },
        gone: { name: 'No longer public', group: null, days: { [day(3)]: [1, 1, 0] } },
      },
    };
    const doc = foldPublicDays(
      previous,
      summary({ [day(2)]: [100, 100, 0], [day(0)]: [50, 49, 1] }),
      {
        api: { name: 'Investments API', group: 'Platform' },
      },
      T,
    );
    expect(Object.keys(doc.components)).toEqual(['api']);
    expect(doc.components.api).toEqual({
      name: 'Investments API',
      group: 'Platform',
      days: { [day(45)]: [10, 9, 0], [day(2)]: [100, 100, 0], [day(0)]: [50, 49, 1] }, // day 95 aged out
    });
  });
});

describe('renderStatusPage', () => {
  const doc: PublicStatusDoc = {
    updatedAtMs: T,
    throughMs: T,
    components: {
      api: {
        name: 'Investments <API>',
        group: 'Platform & Co',
        days: { [day(1)]: [100, 90, 0], [day(0)]: [10, 10, 0] },
      },
      web: { name: 'Web app', group: null, days: {} },
    },
  };

  it('shows public names escaped, states, the worst state as the headline, and bars that merge runs of days', () => {
    const html = renderStatusPage({ doc, states: { api: 'degraded', web: 'up' }, incidents: [], nowMs: T });
    expect(html).toContain('Investments &lt;API&gt;');
    expect(html).toContain('Platform &amp; Co');
    expect(html).toContain('Some systems are degraded');
    expect(html).not.toContain('<API>');
    // api: one red day (yesterday) and 88 days of no data before it, as one rect; today is green (background).
    expect(html).toContain(`<title>${day(1)}: failures</title>`);
    expect(html).toContain(`<title>${day(89)} to ${day(2)}: no data</title>`);
    // web: no data at all: one grey rect for all 90 days.
    expect(html).toContain(`<title>${day(89)} to ${day(0)}: no data</title>`);
    expect(html).toContain('<time datetime="2026-12-05T12:00:00.000Z">2026-12-05 12:00 UTC</time>');
  });

  it('lists open and recently resolved incidents without their reasons, and stays small at 20 components', () => {
    const many: PublicStatusDoc = { updatedAtMs: T, throughMs: T, components: {} };
    for (let k = 0; k < 20; k += 1) {
      const days: Record<string, [number, number, number]> = {};
      // The worst case for size: every other day red, so no two neighbours merge.
      for (let d = 0; d < 90; d += 1) days[day(d)] = d % 2 ? [100, 50, 0] : [100, 100, 0];
      many.components[`c${k}`] = { name: `Component ${k}`, group: k < 10 ? 'Core' : 'Edge', days };
    }
    const html = renderStatusPage({
      doc: many,
      states: { c0: 'down' },
      incidents: [
        {
          component: 'Component 0',
          state: 'open',
          openedAtMs: T - 600_000,
          resolvedAtMs: null,
          lastReminderAtMs: T,
          reminders: 1,
        },
        {
          component: 'Component 3',
          state: 'resolved',
          openedAtMs: T - 7_200_000,
          resolvedAtMs: T - 3_600_000,
          lastReminderAtMs: 0,
          reminders: 0,
        },
      ],
      nowMs: T,
    });
    expect(html).toContain('Some systems are down');
    expect(html).toMatch(/Component 0<\/b>: Investigating since .*Still down at/);
    expect(html).toMatch(/Component 3<\/b>: Resolved at/);
    // 20 components with 45 red days each, the worst case for size: under 30 KB as sent (gzip, status-page.ts).
    expect(gzipSync(html).length).toBeLessThan(30 * 1024);
  });
});
