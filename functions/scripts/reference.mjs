#!/usr/bin/env node
// Writes docs/reference from the code: the documents admins edit and their JSON Schemas, the deployed functions
// with their triggers and options, the params, and the Pub/Sub topics. Run after the build (`npm run
// docs:reference` builds first); `npm test` fails when docs/reference differs from what this generates
// (test/docs/reference.test.ts).
//
//   node functions/scripts/reference.mjs                  write docs/reference (and delete files it no longer makes)
//   node functions/scripts/reference.mjs --index FILE     document FILE's exports instead of functions/lib/index.js
//
// The compiled code is loaded in a child process with a bare environment (GCLOUD_PROJECT=demo-fireops, cwd
// functions/), as firebase-tools discovers functions: settings read at load (PROBE_REGIONS, ...) take the values of
// functions/.env and functions/.env.demo-fireops (platform/params.ts `deployEnv`) whatever the shell holds, and firebase-functions' list of declared params starts empty. The output holds no dates, so the same
// code always gives the same bytes.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FUNCTIONS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.dirname(FUNCTIONS);
export const REFERENCE_DIR = path.join(ROOT, 'docs', 'reference');
const SELF = fileURLToPath(import.meta.url);
const HEADER =
  '<!-- Generated from the code by functions/scripts/reference.mjs: do not edit; run `npm run docs:reference`. -->';

/**
 * The reference as it should be: { 'README.md': text, 'schemas/flag.schema.json': text, ... }, paths relative to
 * docs/reference. Loads functions/lib (build first) in a child process.
 * @param {{ index?: string }} [options] index: a module to document instead of functions/lib/index.js
 * @returns {Record<string, string>}
 */
export function generate({ index } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'fireops-reference-'));
  try {
    const out = path.join(dir, 'reference.json');
    const args = [SELF, '--child', out, ...(index ? ['--index', path.resolve(index)] : [])];
    const child = spawnSync(process.execPath, args, {
      cwd: FUNCTIONS,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', GCLOUD_PROJECT: 'demo-fireops' },
      encoding: 'utf8',
    });
    if (child.status !== 0) {
      throw new Error(`reference generation failed (exit ${child.status}):\n${child.stderr}${child.stdout}`);
    }
    return JSON.parse(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every file under dir, relative to it, '/'-separated, sorted. */
export function listFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

/**
 * Why docs/reference (whose files are `onDisk`) is not what `generate()` returned, naming the first file in path
 * order that is missing, differs or is not generated; undefined when it is current.
 * @param {Record<string, string>} files
 * @param {string[]} onDisk
 * @param {string} dir
 * @param {(file: string) => string | undefined} [read]
 * @returns {string | undefined}
 */
export function compareReference(
  files,
  onDisk,
  dir,
  read = (file) => readFileSync(path.join(dir, file), 'utf8'),
) {
  const present = new Set(onDisk);
  for (const file of [...new Set([...Object.keys(files), ...onDisk])].sort()) {
    const problem = !present.has(file)
      ? `${file} is missing`
      : !(file in files)
        ? `${file} is not generated`
        : read(file) !== files[file]
          ? `${file} differs`
          : undefined;
    if (problem) return `docs/reference is stale: run npm run docs:reference (${problem})`;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------ the child process

function child(out, index) {
  const require = createRequire(path.join(FUNCTIONS, 'package.json'));
  const lib = path.join(FUNCTIONS, 'lib');
  if (!existsSync(path.join(lib, 'index.js')))
    throw new Error('functions/lib/index.js is missing: npm run build');
  const exportsTree = require(index ?? path.join(lib, 'index.js'));
  const reference = require(path.join(lib, 'reference.js'));
  const { declaredParams } = require('firebase-functions/params');

  const functions = [...walkFunctions(exportsTree, [])].sort((a, b) => byCodeUnits(a.id, b.id));
  const files = {
    'README.md': readme(reference),
    'documents.md': documentsPage(reference),
    'functions.md': functionsPage(functions),
    'params.md': paramsPage(declaredParams, reference.environmentSettings),
    'topics.md': topicsPage(reference, require, functions),
    'iam.md': iamPage(require(path.join(lib, 'platform', 'iam.js'))),
  };
  for (const doc of reference.adminDocuments) {
    if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(doc.id) || `schemas/${doc.id}.schema.json` in files) {
      throw new Error(`adminDocuments: id '${doc.id}' must be kebab-case and unique`);
    }
    files[`schemas/${doc.id}.schema.json`] =
      `${JSON.stringify(reference.documentJsonSchema(doc), null, 2)}\n`;
  }
  writeFileSync(out, JSON.stringify(files));
}

/**
 * firebase-tools' view of a codebase: an export holding `__endpoint` is a function; any other object is a deploy
 * group (`export * as health from ...`), whose functions are named `group-name`.
 */
function* walkFunctions(tree, prefix, seen = new Set()) {
  if (seen.has(tree)) return;
  seen.add(tree);
  for (const key of Object.keys(tree)) {
    const value = tree[key];
    if ((typeof value === 'function' || typeof value === 'object') && value?.__endpoint) {
      yield { id: [...prefix, key].join('-'), endpoint: value.__endpoint };
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      yield* walkFunctions(value, [...prefix, key], seen);
    }
  }
}

/** Sorts the same on every machine (localeCompare depends on the ICU data Node was built with). */
const byCodeUnits = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// -------------------------------------------------------------------------------------------------- markdown

const code = (s) => `\`${String(s).replace(/`/g, "'")}\``;
const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const table = (head, rows) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
const page = (...blocks) => `${[HEADER, ...blocks].join('\n\n')}\n`;

/** A firebase-functions param expression: `{{ params.REGION }}` shows as `REGION`. */
const isExpression = (v) => typeof v === 'object' && v !== null && typeof v.toCEL === 'function';
const isReset = (v) => typeof v === 'object' && v !== null && v.constructor?.name === 'ResetValue';
function shown(value, format = (v) => code(v)) {
  if (value === null || value === undefined || isReset(value)) return undefined;
  if (isExpression(value)) {
    const cel = value
      .toCEL()
      .replace(/^\{\{\s*/, '')
      .replace(/\s*\}\}$/, '');
    return code(cel.replace(/params\.([A-Za-z0-9_]+)/g, '$1'));
  }
  if (Array.isArray(value)) return value.map((v) => shown(v, format)).join(', ');
  return format(value);
}

function resourceName(r) {
  switch (r.kind) {
    case 'project':
      return 'project';
    case 'secret':
      return `secret ${code(r.secret)}`;
    case 'bucket':
      return 'backups bucket (`EXPORT_BUCKET`)';
    case 'topic':
      return `topic ${code(r.topic)}`;
    default:
      return code(JSON.stringify(r));
  }
}

/** docs/reference/iam.md from functions/src/platform/iam.ts. */
function iamPage({ SERVICE_ACCOUNTS, GRANTS, REQUIRED_PERMISSIONS }) {
  const account = (group) => code(`${SERVICE_ACCOUNTS[group]}@PROJECT.iam.gserviceaccount.com`);
  return page(
    '# IAM',
    'Each deploy group runs as its own service account (the `serviceAccount` option, from ' +
      '[functions/src/platform/iam.ts](../../functions/src/platform/iam.ts)). `fireops bootstrap` makes the grants; ' +
      '`fireops doctor` tests the required permissions with `testIamPermissions`.',
    '## Service accounts',
    table(
      ['deploy group', 'service account'],
      Object.keys(SERVICE_ACCOUNTS).map((g) => [code(g), account(g)]),
    ),
    '## Grants',
    table(
      ['account', 'role', 'on', 'condition', 'why'],
      GRANTS.map((g) => [
        code(SERVICE_ACCOUNTS[g.account]),
        code(g.role),
        resourceName(g.resource),
        g.condition ? `${g.condition.title}: ${code(g.condition.expression)}` : '—',
        cell(g.why),
      ]),
    ),
    '## Permissions the code calls',
    table(
      ['account', 'on', 'permissions', 'called by'],
      REQUIRED_PERMISSIONS.map((r) => [
        code(SERVICE_ACCOUNTS[r.account]),
        resourceName(r.resource),
        r.permissions.map(code).join(', '),
        cell(r.calledBy),
      ]),
    ),
  );
}

function readme({ adminDocuments }) {
  return page(
    '# Reference',
    'Generated from the code by `npm run docs:reference` ([functions/scripts/reference.mjs](../../functions/scripts/reference.mjs)); ' +
      'do not edit these files by hand: `npm test` fails when they differ from what the code generates.',
    [
      `- [Admin-edited documents](documents.md): the ${adminDocuments.length} Firestore documents admins edit in the console, each with its [JSON Schema](schemas/).`,
      '- [Functions](functions.md): every deployed function, its trigger and its runtime options.',
      '- [Params](params.md): deploy-time params, and the settings read from the environment.',
      '- [Pub/Sub topics](topics.md): each topic and the functions it triggers.',
      '- [IAM](iam.md): the service account of each deploy group, its grants, and the permissions its code calls.',
    ].join('\n'),
    'Settings read from the environment when the code loads (see [Params](params.md#environment-settings)) are ' +
      "documented at the demo project's values (`functions/.env.demo-fireops`): a deployment with other `PROBE_REGIONS` has other probe functions.",
  );
}

function documentsPage({ adminDocuments }) {
  return page(
    '# Admin-edited documents',
    'Every Firestore document admins edit in the console. fireops validates each with its zod schema on every ' +
      'read and in its write trigger, and refuses an invalid edit with a message naming the field.',
    table(
      ['document', 'capability', 'what', 'schema'],
      adminDocuments.map((d) => [
        code(d.path),
        d.capability,
        d.description,
        `[${d.id}.schema.json](schemas/${d.id}.schema.json)`,
      ]),
    ),
    '## About the schemas',
    [
      "Each schema is zod 4's `z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })` (JSON Schema draft 2020-12):",
      '',
      '- **Input side**: what an admin writes. A field with a default may be left out; the schema shows the default.',
      '- **Necessary, not sufficient**: JSON Schema cannot express the checks zod runs in code (cross-field rules such ' +
        "as a canary policy's ascending steps, a health check's condition syntax, IANA time zones), so a document " +
        'the schema accepts may still be refused; the refusal names the field and the rule.',
      '- **Types JSON Schema has no word for** are `{}` (any): Firestore timestamps, which carry a description.',
    ].join('\n'),
  );
}

function trigger(endpoint) {
  if (endpoint.httpsTrigger) return 'HTTPS';
  if (endpoint.callableTrigger) return 'callable';
  if (endpoint.scheduleTrigger) return 'schedule';
  if (endpoint.taskQueueTrigger) return 'task queue';
  if (endpoint.blockingTrigger) return `blocking ${code(endpoint.blockingTrigger.eventType)}`;
  const event = endpoint.eventTrigger;
  if (!event) return 'unknown';
  const on = [];
  for (const [key, value] of Object.entries(event.eventFilterPathPatterns ?? {}))
    on.push(`${key} ${shown(value)}`);
  for (const [key, value] of Object.entries(event.eventFilters ?? {})) {
    if ((key === 'database' || key === 'namespace') && value === '(default)') continue;
    on.push(`${key} ${shown(value)}`);
  }
  return [code(event.eventType), ...on].join(' ');
}

function retry(endpoint) {
  if (endpoint.eventTrigger) return shown(endpoint.eventTrigger.retry, (r) => (r ? 'yes' : 'no')) ?? 'no';
  const config = endpoint.scheduleTrigger?.retryConfig;
  if (!config) return endpoint.scheduleTrigger ? 'default' : '—';
  const parts = [];
  const count = shown(config.retryCount, String);
  if (count !== undefined)
    parts.push(count === '0' ? 'none' : count === '1' ? '1 retry' : `${count} retries`);
  for (const [key, value] of Object.entries(config)) {
    if (key !== 'retryCount' && shown(value) !== undefined) parts.push(`${key} ${shown(value)}`);
  }
  return parts.join(', ') || 'default';
}

function functionsPage(functions) {
  const rows = functions.map(({ id, endpoint: e }) => [
    code(id),
    trigger(e),
    e.scheduleTrigger
      ? `${shown(e.scheduleTrigger.schedule)} (${shown(e.scheduleTrigger.timeZone) ?? 'default time zone'})`
      : '—',
    shown(e.region) ?? 'default',
    shown(e.timeoutSeconds, (s) => `${s} s`) ?? 'default',
    shown(e.availableMemoryMb, (mb) => `${mb} MiB`) ?? 'default',
    shown(e.minInstances, String) ?? 'default',
    shown(e.maxInstances, String) ?? 'default',
    shown(e.concurrency, String) ?? 'default',
    shown(e.serviceAccountEmail) ?? 'default',
    retry(e),
  ]);
  return page(
    '# Functions',
    `The ${functions.length} functions firebase-tools deploys from functions/lib/index.js, by id (a function in a ` +
      'deploy group is `group-name`). A param in an option shows as its name ([params](params.md)); "default" is ' +
      "Cloud Functions' own default (60 s timeout, 256 MiB).",
    table(
      [
        'function',
        'trigger',
        'schedule',
        'region',
        'timeout',
        'memory',
        'min instances',
        'max instances',
        'concurrency',
        'service account',
        'retry',
      ],
      rows,
    ),
  );
}

function paramsPage(declaredParams, environmentSettings) {
  const specs = declaredParams.map((p) => p.toSpec()).sort((a, b) => byCodeUnits(a.name, b.name));
  return page(
    '# Params',
    '## Deploy-time params',
    'Declared with `firebase-functions/params`: `firebase deploy` asks for each value, or takes it from ' +
      '`functions/.env.<projectId>`.',
    table(
      ['param', 'type', 'default', 'description'],
      specs.map((p) => [code(p.name), p.type, shown(p.default, (v) => code(v)) ?? '—', p.description ?? '']),
    ),
    '## Environment settings',
    'Read from the environment (`functions/.env.<projectId>`) when the code loads, not declared as params: each ' +
      'shapes the deployment itself (a trigger topic, a schedule, the set of functions), which is fixed before ' +
      'params are resolved.',
    table(
      ['setting', 'default', 'description'],
      environmentSettings.map((s) => [code(s.name), code(s.value), s.description]),
    ),
  );
}

/** Doc comments of a compiled module's exports: `/** text *\/ exports.NAME = ...`. */
function docComments(file) {
  const comments = {};
  const source = readFileSync(file, 'utf8');
  for (const m of source.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*exports\.(\w+)\s*=/g)) {
    comments[m[2]] = m[1]
      .split('\n')
      .map((line) => line.replace(/^\s*\*?\s?/, '').trim())
      .filter(Boolean)
      .join(' ');
  }
  return comments;
}

function topicsPage(reference, require, functions) {
  const file = Object.values(require.cache).find((m) => m?.exports === reference.topics)?.filename;
  const comments = file ? docComments(file) : {};
  const listeners = new Map();
  for (const { id, endpoint } of functions) {
    const topic = endpoint.eventTrigger?.eventFilters?.topic;
    if (typeof topic === 'string') listeners.set(topic, [...(listeners.get(topic) ?? []), code(id)]);
  }
  const rows = [];
  const listed = new Set();
  for (const [constant, topic] of Object.entries(reference.topics)) {
    if (typeof topic !== 'string') continue;
    listed.add(topic);
    rows.push([
      code(constant),
      code(topic),
      comments[constant] ?? '',
      listeners.get(topic)?.join(', ') ?? '—',
    ]);
  }
  for (const [topic, ids] of listeners) {
    if (listed.has(topic)) continue;
    const setting = reference.environmentSettings.find((s) => s.value === topic);
    rows.push([
      setting ? `${code(setting.name)} ([environment](params.md#environment-settings))` : '—',
      code(topic),
      setting?.description ?? '',
      ids.join(', '),
    ]);
  }
  return page('# Pub/Sub topics', table(['constant', 'topic', 'what', 'triggers'], rows));
}

// --------------------------------------------------------------------------------------------------- writing

function write() {
  const files = generate({ index: option('--index') });
  for (const stale of listFiles(REFERENCE_DIR).filter((f) => !(f in files))) {
    rmSync(path.join(REFERENCE_DIR, stale));
  }
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(REFERENCE_DIR, file)), { recursive: true });
    writeFileSync(path.join(REFERENCE_DIR, file), text);
  }
  console.log(`docs/reference: ${Object.keys(files).length} files written`);
}

function option(name) {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === '--child') child(process.argv[3], option('--index'));
  else write();
}
