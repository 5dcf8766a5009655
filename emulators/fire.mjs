#!/usr/bin/env node
// Fires one scheduled function of the running local suite once, as Cloud Scheduler would (the Functions emulator
// never fires them by itself):
//
//   npm run fire -- health-probeCycleAfricaSouth1            now
//   npm run fire -- scheduledExport 2026-12-04T02:00:00Z   as the run of that schedule time
//
// It finds the function's region in the build (functions/lib), POSTs to its `{id}-0` route with the scheduler's
// headers, prints the answer and exits non-zero unless the function answered 2xx.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findScheduledFunctions, scheduledRequest } from './scheduler.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const project = process.env.FIREOPS_PROJECT_ID ?? 'demo-fireops';
const region = process.env.FIREOPS_REGION ?? 'europe-west1';
const offset = Number(process.env.FIREOPS_PORT_OFFSET ?? 0);
const baseUrl = process.env.FIREOPS_FUNCTIONS_URL ?? `http://127.0.0.1:${5001 + offset}`;

const [id, at] = process.argv.slice(2).filter((a) => a !== '--');
const scheduled = findScheduledFunctions(path.join(ROOT, 'functions', 'lib', 'index.js'));
const fn = scheduled.find((f) => f.id === id);
if (!fn) {
  console.error(
    `usage: npm run fire -- FUNCTION [SCHEDULE_TIME]\nscheduled functions: ${scheduled.map((f) => f.id).join(', ')}`,
  );
  process.exit(2);
}
const scheduleTime = at ? Date.parse(at) : Date.now();
if (!Number.isFinite(scheduleTime)) {
  console.error(`not a time: ${at} (use ISO 8601, e.g. 2026-12-04T02:00:00Z)`);
  process.exit(2);
}
const { url, headers, body: payload } = scheduledRequest(fn, { baseUrl, project, region, scheduleTime });
try {
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: payload,
    signal: AbortSignal.timeout(600_000),
  });
  const body = (await res.text()).trim();
  console.log(
    `${fn.id} (${fn.region ?? region}) @ ${new Date(scheduleTime).toISOString()} -> ${res.status}${body ? ` ${body.slice(0, 500)}` : ''}`,
  );
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`${fn.id}: ${err.message} (is the local suite running? npm start)`);
  process.exit(1);
}
