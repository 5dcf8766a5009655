// A local Cloud Scheduler: the Functions emulator never fires `onSchedule` functions by itself. This finds them in
// the built codebase and POSTs to each on its cadence, with the headers Cloud Scheduler sends
// (X-CloudScheduler-JobName, X-CloudScheduler-ScheduleTime), which firebase-functions turns into the event.
import { createRequire } from 'node:module';

const MINUTE_MS = 60_000;

/**
 * Parses the schedule forms fireops uses: App Engine cron (`every 5 minutes`, `every 1 hours`, `every day 02:00`)
 * and five-field unix cron with numbers, `*`, `*\/n`, lists and ranges. Returns `next(afterMs) -> ms`.
 * Times are UTC (fireops schedules declare UTC; a time zone other than UTC is refused, not guessed).
 */
export function parseSchedule(schedule, timeZone = 'UTC') {
  if (timeZone && timeZone !== 'UTC' && timeZone !== 'Etc/UTC') {
    throw new Error(`local scheduler supports UTC schedules only, got ${timeZone}`);
  }
  const s = schedule.trim();
  let m = /^every (\d+) (minute|minutes|mins|hour|hours)$/i.exec(s);
  if (m) {
    const stepMs = Number(m[1]) * (m[2].toLowerCase().startsWith('h') ? 60 : 1) * MINUTE_MS;
    if (!(stepMs > 0)) throw new Error(`bad interval in '${schedule}'`);
    return { describe: s, next: (afterMs) => Math.floor(afterMs / stepMs) * stepMs + stepMs };
  }
  m = /^every (day|24 hours) (\d{1,2}):(\d{2})$/i.exec(s);
  if (m) return cronNext(`${Number(m[3])} ${Number(m[2])} * * *`, s);
  if (/^every day$/i.test(s)) return cronNext('0 0 * * *', s);
  if (s.split(/\s+/).length === 5) return cronNext(s, s);
  throw new Error(`unsupported schedule '${schedule}'`);
}

function field(spec, min, max) {
  const values = new Set();
  for (const part of spec.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText ? Number(stepText) : 1;
    let lo = min;
    let hi = max;
    if (range !== '*') {
      const [a, b] = range.split('-').map(Number);
      lo = a;
      hi = b ?? (stepText ? max : a);
    }
    if (![lo, hi, step].every(Number.isInteger) || lo < min || hi > max || step < 1) {
      throw new Error(`bad cron field '${spec}'`);
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return values;
}

function cronNext(expr, describe) {
  const [mi, h, dom, mon, dow] = expr.trim().split(/\s+/);
  const minutes = field(mi, 0, 59);
  const hours = field(h, 0, 23);
  const days = field(dom, 1, 31);
  const months = field(mon, 1, 12);
  const weekdays = field(dow.replace(/7/g, '0'), 0, 6);
  return {
    describe,
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

/** Scheduled functions exported by the built codebase: `[{ id, schedule, timeZone }]`. */
export function findScheduledFunctions(indexJs) {
  const require = createRequire(indexJs);
  const mod = require(indexJs);
  const out = [];
  for (const [id, fn] of Object.entries(mod)) {
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
 * The request Cloud Scheduler makes, as the Functions emulator expects it: a POST to `/{region}/{id}-0` (the
 * scheduled function's HTTP twin, in the function's OWN region: a probe cycle per region) with the job name and
 * schedule time headers. A plain `/{id}` URL answers 404 for a scheduled function.
 */
export function scheduledRequest(fn, { baseUrl, project, region, scheduleTime = Date.now() }) {
  const where = fn.region ?? region;
  const jobName = `projects/${project}/locations/${where}/jobs/firebase-schedule-${fn.id}-${where}`;
  return {
    url: `${baseUrl}/${project}/${where}/${fn.id}-0`,
    init: {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'X-CloudScheduler-JobName': jobName,
        'X-CloudScheduler-ScheduleTime': new Date(scheduleTime).toISOString(),
      },
      body: '{}',
    },
  };
}

/** A one-line shell command that fires `fn` once, as printed by `npm start`. */
export function fireCommand(fn) {
  return `npm run fire -- ${fn.id}`;
}

/** Fires each scheduled function at its next times until `stop()` is called. */
export function startScheduler({
  functions,
  baseUrl,
  project,
  region,
  log = console.log,
  nowMs = () => Date.now(),
}) {
  const timers = new Set();
  let stopped = false;
  const fire = async (fn, scheduleTime) => {
    try {
      const { url, init } = scheduledRequest(fn, { baseUrl, project, region, scheduleTime });
      const res = await fetch(url, init);
      log(`[scheduler] ${fn.id} @ ${new Date(scheduleTime).toISOString()} -> ${res.status}`);
    } catch (err) {
      log(`[scheduler] ${fn.id}: ${err.message}`);
    }
  };
  for (const fn of functions) {
    const plan = parseSchedule(fn.schedule, fn.timeZone);
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
