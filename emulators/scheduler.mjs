// @ts-check
// A local Cloud Scheduler: the Functions emulator never fires `onSchedule` functions by itself. This finds them in
// the built codebase and POSTs to each on its cadence, with the headers Cloud Scheduler sends
// (X-CloudScheduler-JobName, X-CloudScheduler-ScheduleTime), which firebase-functions turns into the event.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const MINUTE_MS = 60_000;

/**
 * A scheduled function of the built codebase.
 * @typedef {object} ScheduledFunction
 * @property {string} id The export name (the function's id).
 * @property {string} schedule
 * @property {string} timeZone
 * @property {string} [region] The function's own region, when it declares one.
 */
/**
 * Where the Functions emulator serves the functions.
 * @typedef {{ baseUrl: string, project: string, region: string }} Where
 */
/** @typedef {{ describe: string, next: (afterMs: number) => number }} Plan */

/**
 * Parses the schedule forms fireops uses: App Engine cron (`every 5 minutes`, `every 1 hours`, `every day 02:00`)
 * and five-field unix cron with numbers, `*`, `*\/n`, lists and ranges. Returns `next(afterMs) -> ms`.
 * Times are UTC (fireops schedules declare UTC; a time zone other than UTC is refused, not guessed).
 * @param {string} schedule
 * @param {string} [timeZone]
 * @returns {Plan}
 */
export function parseSchedule(schedule, timeZone = 'UTC') {
  if (timeZone && timeZone !== 'UTC' && timeZone !== 'Etc/UTC') {
    throw new Error(`local scheduler supports UTC schedules only, got ${timeZone}`);
  }
  const s = schedule.trim();
  let m = /^every (\d+) (minute|minutes|mins|hour|hours)$/i.exec(s);
  if (m) {
    const stepMs = Number(m[1]) * ((m[2] ?? '').toLowerCase().startsWith('h') ? 60 : 1) * MINUTE_MS;
    if (!(stepMs > 0)) throw new Error(`bad interval in '${schedule}'`);
    return { describe: s, next: (afterMs) => Math.floor(afterMs / stepMs) * stepMs + stepMs };
  }
  m = /^every (day|24 hours) (\d{1,2}):(\d{2})$/i.exec(s);
  if (m) return cronNext(`${Number(m[3])} ${Number(m[2])} * * *`, s);
  if (/^every day$/i.test(s)) return cronNext('0 0 * * *', s);
  if (s.split(/\s+/).length === 5) return cronNext(s, s);
  throw new Error(`unsupported schedule '${schedule}'`);
}

/**
 * The values one cron field allows.
 * @param {string} spec @param {number} min @param {number} max
 * @returns {Set<number>}
 */
function field(spec, min, max) {
  /** @type {Set<number>} */
  const values = new Set();
  for (const part of spec.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText ? Number(stepText) : 1;
    let lo = min;
    let hi = max;
    if (range !== '*') {
      const [a, b] = (range ?? '').split('-').map(Number);
      lo = a ?? NaN;
      hi = b ?? (stepText ? max : lo);
    }
    if (![lo, hi, step].every((n) => Number.isInteger(n)) || lo < min || hi > max || step < 1) {
      throw new Error(`bad cron field '${spec}'`);
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return values;
}

/**
 * @param {string} expr Five-field unix cron.
 * @param {string} describe
 * @returns {Plan}
 */
function cronNext(expr, describe) {
  const [mi = '', h = '', dom = '', mon = '', dow = ''] = expr.trim().split(/\s+/);
  const minutes = field(mi, 0, 59);
  const hours = field(h, 0, 23);
  const days = field(dom, 1, 31);
  const months = field(mon, 1, 12);
  const weekdays = field(dow.replace(/7/g, '0'), 0, 6);
  return {
    describe,
    /** @param {number} afterMs */
    next(afterMs) {
      let t = Math.floor(afterMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
      for (let i = 0; i < 366 * 24 * 60; i++, t += MINUTE_MS) {
        const d = new Date(t);
        if (
          minutes.has(d.getUTCMinutes()) &&
          hours.has(d.getUTCHours()) &&
          days.has(d.getUTCDate()) &&
          months.has(d.getUTCMonth() + 1) &&
          weekdays.has(d.getUTCDay())
        ) {
          return t;
        }
      }
      throw new Error(`cron '${expr}' never fires`);
    },
  };
}

/**

 * Every function a module exports, as `[id, fn]`: a value with `__endpoint` is a function; a plain object is a
 * deploy group (`export * as health from './health/functions'`), whose functions firebase-tools names
 * `group-name` (`health-probeCycleEuropeWest1`).
 * @param {Record<string, any>} mod
 * @param {string} [prefix]
 * @returns {[string, any][]}
 */
export function exportedFunctions(mod, prefix = '') {
  /** @type {[string, any][]} */
  const out = [];
  for (const [key, value] of Object.entries(mod ?? {})) {
    if (value?.__endpoint) out.push([prefix + key, value]);
    else if (value && typeof value === 'object') out.push(...exportedFunctions(value, `${prefix}${key}-`));
  }
  return out;
}

/**
 * Scheduled functions exported by the built codebase.
 * @param {string} indexJs Path of the built `index.js`.
 * @returns {ScheduledFunction[]}
 */
export function findScheduledFunctions(indexJs) {
  loadFunctionsEnv(indexJs);
  const require = createRequire(indexJs);
  /** @type {Record<string, any>} */
  const mod = require(indexJs);
  /** @type {ScheduledFunction[]} */
  const out = [];
  for (const [id, fn] of exportedFunctions(mod)) {
    const trigger = fn?.__endpoint?.scheduleTrigger;
    if (!trigger) continue;
    const schedule =
      typeof trigger.schedule === 'string' ? trigger.schedule : String(trigger.schedule?.value?.() ?? '');
    const timeZone = typeof trigger.timeZone === 'string' ? trigger.timeZone : 'UTC';
    // A function's own region (probeCycle* run one per region); params (REGION) are not resolved here.
    const declared = fn.__endpoint.region?.[0];
    out.push({ id, schedule, timeZone, ...(typeof declared === 'string' ? { region: declared } : {}) });
  }
  return out;
}

/**
 * The request Cloud Scheduler would send to fire `fn` at `scheduleTime` (ms, or a string put in the header as
 * is): POST {baseUrl}/{project}/{region}/{id}-0, the route the Functions emulator serves a scheduled function on
 * (not /{id}, which answers 404), in the function's own region (health-probeCycleAfricaSouth1 is in africa-south1).
 * @param {ScheduledFunction} fn
 * @param {Where & { scheduleTime: number | string }} where
 * @returns {{ url: string, headers: Record<string, string>, body: string }}
 */
export function scheduledRequest(fn, { baseUrl, project, region, scheduleTime }) {
  const where = fn.region ?? region;
  return {
    url: `${baseUrl}/${project}/${where}/${fn.id}-0`,
    headers: {
      'content-type': 'application/json',
      'X-CloudScheduler-JobName': `projects/${project}/locations/${where}/jobs/firebase-schedule-${fn.id}-${where}`,
      'X-CloudScheduler-ScheduleTime':
        typeof scheduleTime === 'number' ? new Date(scheduleTime).toISOString() : scheduleTime,
    },
    body: '{}',
  };
}

/**
 * A one-line shell command that fires `fn` now, as `npm start` prints it, printing the HTTP status (200 once the
 * function has run). The schedule time is the current second: a second firing within the same second is the
 * same scheduled run (idempotent by job name and schedule time) and does nothing.
 * @param {ScheduledFunction} fn
 * @param {Where} opts
 * @returns {string}
 */
export function fireCommand(fn, opts) {
  const { url, headers, body } = scheduledRequest(fn, {
    ...opts,
    scheduleTime: '$(date -u +%Y-%m-%dT%H:%M:%S.000Z)',
  });
  const h = Object.entries(headers).map(([k, v]) => `-H "${k}: ${v}"`);
  return `curl -sS -o /dev/null -w '%{http_code}\\n' -X POST ${h.join(' ')} -d '${body}' '${url}'`;
}

/**
 * How to reach each function of the built codebase locally: HTTP functions by URL (in their own region), event
 * functions by what triggers them, scheduled functions by the command that fires them.
 * @param {string} indexJs Path of the built `index.js`.
 * @param {Where} where
 * @returns {{ id: string, kind: 'http' | 'event' | 'scheduled', how: string }[]}
 */
export function describeFunctions(indexJs, { baseUrl, project, region }) {
  loadFunctionsEnv(indexJs, project);
  /** @type {Record<string, any>} */
  const mod = createRequire(indexJs)(indexJs);
  const scheduled = new Map(findScheduledFunctions(indexJs).map((f) => [f.id, f]));
  return exportedFunctions(mod).map(([id, exported]) => {
    const endpoint = exported?.__endpoint ?? {};
    const declared = Array.isArray(endpoint.region) ? endpoint.region[0] : undefined;
    const where = typeof declared === 'string' ? declared : region;
    const fn = scheduled.get(id);
    if (fn) return { id, kind: 'scheduled', how: fireCommand(fn, { baseUrl, project, region }) };
    if (endpoint.httpsTrigger) return { id, kind: 'http', how: `${baseUrl}/${project}/${where}/${id}` };
    const trigger = endpoint.eventTrigger ?? {};
    const type = String(trigger.eventType ?? 'unknown');
    const document = trigger.eventFilterPathPatterns?.document ?? trigger.eventFilters?.document;
    const verb = /\.(created|updated|deleted|written)/.exec(type)?.[1];
    if (type.includes('firestore'))
      return { id, kind: 'event', how: `Firestore: ${document} ${verb ?? type}` };
    if (type.includes('pubsub'))
      return { id, kind: 'event', how: `Pub/Sub: topic ${trigger.eventFilters?.topic}` };
    return { id, kind: 'event', how: type };
  });
}

/**
 * Sets what the Functions emulator sets before loading the code: the values of `functions/.env` and
 * `functions/.env.<project>` (firebase-tools' dotenv files), for names the environment does not already hold. The
 * deploy-shaping values (PROBE_REGIONS: which probeCycle functions exist) are read when index.js loads, so without
 * them this process would see other functions than the emulator serves.
 * @param {string} indexJs Path of the built `index.js` (in `functions/lib/`).
 * @param {string} [project]
 */
export function loadFunctionsEnv(indexJs, project = process.env.FIREOPS_PROJECT_ID ?? 'demo-fireops') {
  const dir = path.resolve(path.dirname(indexJs), '..');
  for (const file of ['.env', `.env.${project}`]) {
    const p = path.join(dir, file);
    if (!existsSync(p)) continue;
    for (const line of readFileSync(p, 'utf8').split(/\r?\n/)) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
      if (m && process.env[/** @type {string} */ (m[1])] === undefined)
        process.env[/** @type {string} */ (m[1])] = m[2];
    }
  }
}

/**
 * Fires each scheduled function at its next times until `stop()` is called.
 * @param {Where & { functions: ScheduledFunction[], log?: (line: string) => void, nowMs?: () => number }} options
 *   `log`: where firings are reported (default console.log); `nowMs`: the clock.
 * @returns {{ fire: (fn: ScheduledFunction, scheduleTime: number) => Promise<void>, stop: () => void }}
 */
export function startScheduler({
  functions,
  baseUrl,
  project,
  region,
  log = console.log,
  nowMs = () => Date.now(),
}) {
  /** @type {Set<NodeJS.Timeout>} */
  const timers = new Set();
  let stopped = false;
  /** @param {ScheduledFunction} fn @param {number} scheduleTime */
  const fire = async (fn, scheduleTime) => {
    const { url, headers, body } = scheduledRequest(fn, { baseUrl, project, region, scheduleTime });
    try {
      const res = await fetch(url, { method: 'POST', headers, body });
      log(`[scheduler] ${fn.id} @ ${new Date(scheduleTime).toISOString()} -> ${res.status}`);
    } catch (err) {
      log(`[scheduler] ${fn.id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  for (const fn of functions) {
    const plan = parseSchedule(fn.schedule, fn.timeZone);
    /** @param {number} afterMs */
    const arm = (afterMs) => {
      if (stopped) return;
      const at = plan.next(afterMs);
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          void fire(fn, at);
          arm(at);
        },
        Math.max(0, at - nowMs()),
      );
      timers.add(timer);
    };
    arm(nowMs());
    log(`[scheduler] ${fn.id}: ${plan.describe}, next ${new Date(plan.next(nowMs())).toISOString()}`);
  }
  return {
    fire,
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
