#!/usr/bin/env node
// `npm run deploy -- --project P [--dry-run]`: the one way fireops is deployed, by hand and from CI
// (.github/workflows/deploy.yml). Three steps, each stopping the deploy with a message that says what to do:
//
// 1. The dotenv file: firebase-tools reads functions/.env and functions/.env.<P>; a non-interactive deploy
//    refuses any param without a value there, even one with a default. Every name of functions/.env.example must
//    have a value in one of them.
// 2. `fireops doctor --project P` (the read-only preflight: APIs, databases, secrets and aliases, topics,
//    buckets, each function's account and its permissions, the admin claim), through npx, never installing
//    anything (`--no`: an unbuilt CLI must not be replaced by whatever the registry calls `fireops`).
// 3. `firebase deploy --only functions,firestore --project P --non-interactive --force`. `--force` answers the
//    prompts a non-interactive deploy otherwise fails on; for fireops the one that matters is Artifact Registry's:
//    with no cleanup policy on the `gcf-artifacts` repository of a region, firebase-tools 14 deploys the functions
//    and then exits non-zero ("could not set up cleanup policy ... Pass the --force option to automatically set
//    up a cleanup policy"), unless --force lets it set the default policy (images older than 1 day deleted), which
//    is what keeps the repository from growing by one image per function per deploy. It also accepts deploying
//    functions with a failure policy (`retry: true`, which fireops' event triggers set on purpose).
//    `--dry-run` is passed on: firebase-tools builds and validates everything (params, IAM checks) and changes
//    nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FUNCTIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.resolve(FUNCTIONS_DIR, '..');
export const CLI_PATH = path.join(FUNCTIONS_DIR, 'lib', 'cli', 'fireops.js');

/** Names with a value in a dotenv text (`NAME=value`, comments and blank lines ignored). */
export function dotenvKeys(text) {
  const keys = new Set();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m && m[2].trim() !== '') keys.add(m[1]);
  }
  return keys;
}

/** What functions/.env.example lists and neither functions/.env nor functions/.env.<project> sets. */
export function missingDotenvKeys(project, dir = FUNCTIONS_DIR) {
  const wanted = dotenvKeys(readFileSync(path.join(dir, '.env.example'), 'utf8'));
  const have = new Set();
  for (const file of ['.env', `.env.${project}`]) {
    const p = path.join(dir, file);
    if (existsSync(p)) for (const k of dotenvKeys(readFileSync(p, 'utf8'))) have.add(k);
  }
  return [...wanted].filter((k) => !have.has(k));
}

/** Parses `--project P` (or `--project=P`, `-P P`) and `--dry-run`; anything else is refused. */
export function parseArgs(argv) {
  let project;
  let dryRun = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dry-run') dryRun = true;
    else if (a === '--project' || a === '-P') project = argv[++i];
    else if (a.startsWith('--project=')) project = a.slice('--project='.length);
    else throw new Error(`unknown argument '${a}' (usage: npm run deploy -- --project P [--dry-run])`);
  }
  if (!project || !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project)) {
    throw new Error(
      '--project P is required: the Google Cloud project id to deploy to (usage: npm run deploy -- --project P [--dry-run])',
    );
  }
  if (project.startsWith('demo-'))
    throw new Error(`'${project}' is a demo project (emulators only): nothing to deploy to`);
  return { project, dryRun };
}

/** The commands the deploy runs, in order (cwd relative to the repository root). */
export function deployPlan({ project, dryRun }) {
  return [
    {
      what: 'fireops doctor',
      cwd: 'functions',
      cmd: 'npx',
      args: ['--no', 'fireops', 'doctor', '--project', project],
    },
    {
      what: 'firebase deploy',
      cwd: '.',
      cmd: 'npx',
      args: [
        '--no',
        'firebase',
        'deploy',
        '--only',
        'functions,firestore',
        '--project',
        project,
        '--non-interactive',
        '--force',
        ...(dryRun ? ['--dry-run'] : []),
      ],
    },
  ];
}

function fail(message) {
  console.error(`deploy: ${message}`);
  process.exit(1);
}

function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    return fail(err.message);
  }
  const missing = missingDotenvKeys(options.project);
  if (missing.length) {
    return fail(
      `no value for ${missing.join(', ')} in functions/.env or functions/.env.${options.project}: ` +
        `copy functions/.env.example to functions/.env.${options.project} and set each value ` +
        '(a non-interactive firebase deploy refuses params without one, even with a default)',
    );
  }
  if (!existsSync(CLI_PATH)) {
    return fail(
      `the fireops CLI is not built (${path.relative(ROOT, CLI_PATH)} is missing): run \`npm run build\` first; ` +
        'the deploy never goes ahead without `fireops doctor`',
    );
  }
  for (const step of deployPlan(options)) {
    console.log(`\n> ${step.cmd} ${step.args.join(' ')}`);
    const r = spawnSync(step.cmd, step.args, { cwd: path.join(ROOT, step.cwd), stdio: 'inherit' });
    if (r.error) return fail(`${step.what} could not start: ${r.error.message}`);
    if (r.status !== 0) {
      return fail(
        step.what === 'fireops doctor'
          ? `fireops doctor found problems (above); fix them (\`npx fireops bootstrap --project ${options.project}\` prints the plan) and deploy again`
          : `firebase deploy exited with ${r.status ?? r.signal}`,
      );
    }
  }
  console.log(`\ndeploy: ${options.dryRun ? 'dry run passed' : 'deployed'} to ${options.project}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
