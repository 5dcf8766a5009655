#!/usr/bin/env node
// The local suite without downloads: finds the Google Cloud CLI's Firestore and Pub/Sub emulators, points
// firebase-tools at them, starts fireops' own stand-ins (Secret Manager, ...), and runs firebase-tools.
//
//   node emulators/launcher.mjs start          build, run the suite with demo data and the local scheduler
//   node emulators/launcher.mjs test           build, typecheck, lint, unit and docs tests, then emulator tests
//   node emulators/launcher.mjs exec -- CMD    run CMD with the suite up (what the emulator tests use)
//   node emulators/launcher.mjs bench [name]   run benchmarks with the suite up
//
// Everything it starts is stopped when it exits, on Ctrl-C and on failure (see stopAll).
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(ROOT, '.cache', 'emulators');
export const PROJECT_ID = 'demo-fireops';
export const REGION = 'europe-west1';
/** FIREOPS_EMULATORS narrows the suite, e.g. for a benchmark that drives a handler in process. */
const ONLY = process.env.FIREOPS_EMULATORS ?? 'functions,firestore,pubsub,auth,hosting';
/**
 * Ports are fixed in firebase.json; FIREOPS_PORT_OFFSET=N runs a second suite beside the first with every port
 * moved by N (through a generated copy of firebase.json), for parallel work on one machine.
 */
const PORT_OFFSET = Number(process.env.FIREOPS_PORT_OFFSET ?? 0);

function firebaseConfig() {
  const config = JSON.parse(readFileSync(path.join(ROOT, 'firebase.json'), 'utf8'));
  const functionsPort = config.emulators.functions.port + PORT_OFFSET;
  const hostingPort = config.emulators.hosting.port + PORT_OFFSET;
  const ports = [config.emulators.firestore.port, config.emulators.pubsub.port].map((p) => p + PORT_OFFSET);
  if (PORT_OFFSET === 0) return { args: [], functionsPort, hostingPort, ports };
  for (const emulator of Object.values(config.emulators)) {
    if (typeof emulator !== 'object') continue;
    if (emulator.port) emulator.port += PORT_OFFSET;
    if (emulator.websocketPort) emulator.websocketPort += PORT_OFFSET;
  }
  // firebase-tools takes the config file's folder as the project root: the copy sits beside the original.
  const file = path.join(ROOT, `firebase.offset-${PORT_OFFSET}.local.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { args: ['--config', file], functionsPort, hostingPort, ports };
}
const FIREBASE_BIN = path.join(ROOT, 'node_modules', '.bin', 'firebase');

/** Where the Google Cloud CLI's emulators live: a folder laid out like the CLI's `platform/`. */
export function findPlatformDir(env = process.env) {
  const candidates = [];
  if (env.GCLOUD_EMULATORS_DIR) candidates.push(env.GCLOUD_EMULATORS_DIR);
  const gcloud = spawnSync('gcloud', ['info', '--format=value(installation.sdk_root)'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  const sdkRoot = gcloud.status === 0 ? gcloud.stdout.trim() : '';
  if (sdkRoot) candidates.push(path.join(sdkRoot, 'platform'));
  candidates.push(path.resolve(ROOT, '..', 'shared', 'emulators'));
  return candidates.find((dir) =>
    existsSync(path.join(dir, 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar')),
  );
}

/**
 * A store-only zip holding just a manifest: the gcloud Firestore jar has no Main-Class, so this wrapper names
 * it and puts the real jar on the Class-Path. Written by hand to need no `jar` binary.
 */
function writeManifestJar(file, manifest) {
  const name = Buffer.from('META-INF/MANIFEST.MF');
  const data = Buffer.from(manifest);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(10, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  const centralOffset = local.length + name.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  writeFileSync(file, Buffer.concat([local, name, data, central, name, end]));
}

/** Environment that makes firebase-tools use the local emulator binaries instead of downloading them. */
export function emulatorBinaryEnv(env = process.env) {
  const platform = findPlatformDir(env);
  if (!platform) {
    console.warn('[launcher] no Google Cloud emulators found: firebase-tools will download its own');
    return {};
  }
  mkdirSync(CACHE, { recursive: true });
  const realJar = path.join(platform, 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar');
  const wrapper = path.join(CACHE, 'cloud-firestore-emulator-main.jar');
  // Manifest Class-Path entries are URLs relative to the wrapper jar; an absolute file URL avoids that.
  const classPath = new URL(`file://${realJar}`).href;
  const lines = [
    'Manifest-Version: 1.0',
    'Main-Class: com.google.cloud.datastore.emulator.firestore.CloudFirestore',
    // Manifest lines are limited to 72 bytes; longer values continue on lines starting with one space.
    ...wrapManifestLine(`Class-Path: ${classPath}`),
    '',
    '',
  ];
  writeManifestJar(wrapper, lines.join('\r\n'));
  const out = { FIRESTORE_EMULATOR_BINARY_PATH: wrapper };
  const pubsub = path.join(platform, 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator');
  if (existsSync(pubsub)) out.PUBSUB_EMULATOR_BINARY_PATH = pubsub;
  return out;
}

function wrapManifestLine(line) {
  const out = [line.slice(0, 70)];
  for (let i = 70; i < line.length; i += 69) out.push(` ${line.slice(i, i + 69)}`);
  return out;
}

/** Starts fireops' own stand-ins in this process and returns their addresses as environment variables. */
async function startStandIns({ seed }) {
  const stops = [];
  const env = {};
  const { startSecretManagerEmulator } = await import('./secret-manager/server.mjs');
  const seedFile = path.join(ROOT, 'emulators', 'seed', 'secret-manager.json');
  const sm = await startSecretManagerEmulator({
    port: Number(process.env.SECRET_MANAGER_EMULATOR_PORT ?? 9323 + PORT_OFFSET),
    controlPort: Number(process.env.SECRET_MANAGER_CONTROL_PORT ?? 9324 + PORT_OFFSET),
    seed: seed && existsSync(seedFile) ? JSON.parse(readFileSync(seedFile, 'utf8')) : undefined,
  });
  stops.push(() => sm.close());
  env.SECRET_MANAGER_EMULATOR_HOST = sm.address;
  // Its control API (injected faults, IAM enforcement), for tests and the CLI's: test/support/secret-manager.ts.
  if (sm.controlUrl) env.SECRET_MANAGER_STAND_IN_URL = sm.controlUrl;

  const { startGitHubStandIn } = await import('./github/server.mjs');
  const github = await startGitHubStandIn({
    port: Number(process.env.GITHUB_STAND_IN_PORT ?? 9400 + PORT_OFFSET),
  });
  stops.push(() => github.close());
  // The GitHub adapter (functions/src/platform/github-api.ts) honours GITHUB_API_URL.
  env.GITHUB_API_URL = github.url;

  // Firestore exports: "buckets" are folders, shared by the Firestore Admin stand-in (which writes exports there
  // through the Firestore emulator) and the Cloud Storage stand-in (which serves them).
  const bucketsDir = process.env.FIREOPS_BUCKETS_DIR ?? path.join(ROOT, '.cache', 'buckets');
  mkdirSync(bucketsDir, { recursive: true });
  // The audit anchors vouch for the audit log of a database; the emulator's database starts empty every run, so
  // the anchors of an earlier run (a test suite's, another session's) would only contradict the new chains.
  // `npm start` and `npm run demo` start with none (the integration suite leaves its tests' anchors there).
  if (seed) rmSync(path.join(bucketsDir, `${PROJECT_ID}-audit-anchors`), { recursive: true, force: true });
  const { startFirestoreAdminStandIn } = await import('./firestore-admin/server.mjs');
  const firestoreAdmin = await startFirestoreAdminStandIn({
    port: Number(process.env.FIRESTORE_ADMIN_STAND_IN_PORT ?? 9330 + PORT_OFFSET),
    controlPort: Number(process.env.FIRESTORE_ADMIN_CONTROL_PORT ?? 9331 + PORT_OFFSET),
    bucketsDir,
    // The Firestore emulator starts after the stand-ins: its address comes from firebase.json, read per operation.
    firestoreHost: firestoreEmulatorHost,
  });
  stops.push(() => firestoreAdmin.close());
  env.FIRESTORE_ADMIN_EMULATOR_HOST = firestoreAdmin.address;
  env.FIRESTORE_ADMIN_STAND_IN_URL = firestoreAdmin.controlUrl;

  const { startStorageStandIn } = await import('./storage/server.mjs');
  const storage = await startStorageStandIn({
    port: Number(process.env.STORAGE_STAND_IN_PORT ?? 9332 + PORT_OFFSET),
    bucketsDir,
  });
  stops.push(() => storage.close());
  // @google-cloud/storage honours STORAGE_EMULATOR_HOST natively (a URL, requests go to {url}/b/...).
  env.STORAGE_EMULATOR_HOST = storage.url;
  env.FIREOPS_BUCKETS_DIR = bucketsDir;

  const { startCloudRunStandIn } = await import('./cloud-run/server.mjs');
  const cloudRun = await startCloudRunStandIn({
    port: Number(process.env.CLOUD_RUN_STAND_IN_PORT ?? 9335 + PORT_OFFSET),
    controlPort: Number(process.env.CLOUD_RUN_CONTROL_PORT ?? 9336 + PORT_OFFSET),
  });
  stops.push(() => cloudRun.close());
  // The cloud-run traffic router (functions/src/canary/routers.ts) honours CLOUD_RUN_EMULATOR_HOST.
  env.CLOUD_RUN_EMULATOR_HOST = cloudRun.address;
  env.CLOUD_RUN_STAND_IN_URL = cloudRun.controlUrl;
  return { env, stop: () => Promise.allSettled(stops.map((s) => s())) };
}

/** `host:port` of this suite's Firestore emulator, from firebase.json and the port offset. */
function firestoreEmulatorHost() {
  const config = JSON.parse(readFileSync(path.join(ROOT, 'firebase.json'), 'utf8'));
  const { host = '127.0.0.1', port } = config.emulators.firestore;
  return `${host}:${port + PORT_OFFSET}`;
}

const children = new Set();
/** Process groups of detached children (firebase-tools): stopAll ends each before the launcher may exit. */
const groups = new Set();
let standIns;

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', cwd: ROOT, ...opts });
    children.add(child);
    if (opts.detached && child.pid) groups.add(child.pid);
    child.on('exit', (code, signal) => {
      children.delete(child);
      const status = code ?? (signal ? 128 : 1);
      if (opts.detached) void endProcessGroup(child.pid).then(() => resolve(status));
      else resolve(status);
    });
    child.on('error', (err) => {
      console.error(`[launcher] ${cmd}: ${err.message}`);
      children.delete(child);
      resolve(1);
    });
  });
}

/**
 * Ends what is left of a detached child's process group: the emulators:exec script, which firebase-tools leaves
 * running when interrupted, and any Java emulator a hard kill left behind. Only that group is touched, never
 * another suite's processes.
 */
function endProcessGroup(pgid) {
  // One ending per group, shared by run's exit handler and stopAll: whoever asks first, both wait for the end.
  let ending = endings.get(pgid);
  if (!ending) {
    ending = endGroup(pgid).finally(() => groups.delete(pgid));
    endings.set(pgid, ending);
  }
  return ending;
}
const endings = new Map();

async function endGroup(pgid) {
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const signal = (sig) => {
    try {
      process.kill(-pgid, sig);
    } catch {
      /* the group is gone */
    }
  };
  const waitGone = async (ms) => {
    const deadline = Date.now() + ms;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  };
  if (!alive()) return;
  signal('SIGTERM');
  await waitGone(5_000);
  if (alive()) {
    console.warn(`[launcher] stopping leftover processes of group ${pgid}`);
    signal('SIGKILL');
    await waitGone(2_000);
  }
}

/**
 * firebase-tools starts the Java emulators in process groups of their own, so when firebase-tools dies hard they
 * outlive it, reparented to init, and hold the ports of the next run. Such orphans (parent pid 1) running one of
 * the emulator jars on one of this suite's ports cannot belong to a live suite: they are ended, before a run and
 * after it.
 */
function killOrphanedEmulators(ports) {
  if (!existsSync('/proc')) return;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat;
    let cmdline;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const emulator =
      cmdline.includes('cloud-firestore-emulator') || cmdline.includes('cloud-pubsub-emulator');
    const onOurPort = ports.some((port) => new RegExp(`--port[= ]${port}(\\s|$)`).test(cmdline));
    if (ppid === 1 && emulator && onOurPort) {
      try {
        process.kill(Number(pid), 'SIGKILL');
        console.warn(`[launcher] ended an orphaned emulator (pid ${pid}) left by an earlier run`);
      } catch {
        /* already gone */
      }
    }
  }
}

let stopping;
let orphanPorts = [];
/**
 * Stops the suite: one SIGINT lets firebase-tools shut its emulators down cleanly (a second would make it quit at
 * once and can orphan the Java emulators). Children run in their own process group, so the terminal's Ctrl-C
 * reaches only this launcher, which forwards exactly one.
 */
async function stopAll() {
  stopping ??= (async () => {
    for (const child of children) child.kill('SIGINT');
    const deadline = Date.now() + 15_000;
    while (children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const child of children) child.kill('SIGKILL');
    // firebase-tools exiting is not the end of its group: functionsEmulatorRuntime workers it started may still
    // run (reparented to init). The launcher must not exit before every group it started is empty (issue 16.5).
    await Promise.all([...groups].map((pgid) => endProcessGroup(pgid)));
    await standIns?.stop();
    killOrphanedEmulators(orphanPorts);
  })();
  return stopping;
}

/**
 * `npm run demo`: the suite's own output (firebase-tools, every function's log lines) goes to a log file, and the
 * demo's display, which emulators/demo.mjs appends to FIREOPS_DEMO_DISPLAY, is copied to this terminal as it
 * grows: what happens, act by act, without the emulators' chatter. On a failure the log's last lines follow.
 */
async function runDemo() {
  const dir = path.join(ROOT, '.cache');
  mkdirSync(dir, { recursive: true });
  const display = path.join(dir, 'demo-display.log');
  const suiteLog = path.join(dir, 'demo-suite.log');
  writeFileSync(display, '');
  const logFd = openSync(suiteLog, 'w');
  console.log(
    `[launcher] starting a fresh local suite for the demo (its logs: ${path.relative(ROOT, suiteLog)})`,
  );
  let shown = 0;
  const copy = () => {
    const text = readFileSync(display, 'utf8');
    if (text.length > shown) process.stdout.write(text.slice(shown));
    shown = text.length;
  };
  const timer = setInterval(copy, 200);
  try {
    const code = await withSuite(`node ${JSON.stringify(path.join(ROOT, 'emulators', 'demo.mjs'))}`, {
      seed: true,
      stdio: ['ignore', logFd, logFd],
      env: {
        FIREOPS_DEMO_DISPLAY: display,
        ...(process.stdout.isTTY && !process.env.NO_COLOR ? { FIREOPS_DEMO_COLOR: '1' } : {}),
      },
    });
    copy();
    if (code !== 0) {
      const tail = readFileSync(suiteLog, 'utf8').split('\n').slice(-80).join('\n');
      console.log(
        `\n[launcher] the demo failed (exit ${code}); the suite's last log lines (${suiteLog}):\n${tail}`,
      );
    }
    return code;
  } finally {
    clearInterval(timer);
    closeSync(logFd);
  }
}

async function withSuite(command, { seed = false, stdio = undefined, env: extraEnv = {} } = {}) {
  const binaryEnv = emulatorBinaryEnv();
  const onSignal = (sig) => {
    if (stopping) return;
    console.log(`\n[launcher] ${sig}: stopping the suite`);
    void stopAll().then(() => process.exit(130));
  };
  // `on`, not `once`: a second Ctrl-C while stopping must not kill the launcher before the groups are ended.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    standIns = await startStandIns({ seed });
    const env = {
      ...process.env,
      ...binaryEnv,
      ...standIns.env,
      GCLOUD_PROJECT: PROJECT_ID,
      FIREOPS_PROJECT_ID: PROJECT_ID,
      FIREOPS_REGION: REGION,
      // The functions emulator passes this process's environment through to the functions.
      FIREBASE_EMULATORS_ROOT: ROOT,
      // Seconds firebase-tools gives a new function worker to load before it drops the request (default 30, too
      // short on a loaded machine: issue 17.7). Read by firebase-tools' functions emulator (runtime workers) and
      // function discovery alike.
      FUNCTIONS_DISCOVERY_TIMEOUT: process.env.FUNCTIONS_DISCOVERY_TIMEOUT ?? '120',
    };
    const config = firebaseConfig();
    orphanPorts = config.ports;
    killOrphanedEmulators(config.ports);
    env.FIREOPS_FUNCTIONS_URL = `http://127.0.0.1:${config.functionsPort}`;
    // The status page as users load it: Firebase Hosting's emulator, rewriting to health-statusPage.
    env.FIREOPS_HOSTING_URL = `http://127.0.0.1:${config.hostingPort}`;
    const args = ['emulators:exec', ...config.args, '--project', PROJECT_ID, '--only', ONLY, command];
    return await run(FIREBASE_BIN, args, {
      env: { ...env, ...extraEnv },
      ...(stdio ? { stdio } : {}),
      // A process group of its own, so Ctrl-C is delivered to firebase-tools once, by stopAll.
      detached: true,
    });
  } finally {
    await stopAll();
  }
}

async function step(label, cmd, args) {
  console.log(`\n[launcher] ${label}`);
  const code = await run(cmd, args);
  if (code !== 0) {
    console.error(`[launcher] ${label} failed (exit ${code})`);
    process.exit(code);
  }
}

const npx = (bin, args) => [path.join(ROOT, 'node_modules', '.bin', bin), args];

async function main(argv) {
  // Everything the launcher starts (npm, vitest, firebase-tools and so the Functions emulator's workers) runs on
  // the project's Node 22 (the `node` devDependency), also when the launcher itself was started by another node.
  process.env.PATH = `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`;
  const [mode = 'start', ...rest] = argv;
  switch (mode) {
    case 'start':
      await step('build functions', 'npm', ['run', 'build']);
      return withSuite(`node ${JSON.stringify(path.join(ROOT, 'emulators', 'dev-session.mjs'))}`, {
        seed: true,
      });
    case 'demo':
      // The whole story on a fresh suite (emulators/demo.mjs); exits non-zero naming the act that failed.
      if (rest[0] !== '--no-build') await step('build functions', 'npm', ['run', 'build']);
      return runDemo();
    case 'test':
      await step('build functions', 'npm', ['run', 'build']);
      await step('typecheck', 'npm', ['run', 'typecheck']);
      await step('lint', 'npm', ['run', 'lint']);
      await step('unit tests', ...npx('vitest', ['run', '--project', 'unit']));
      // After the build: compares docs/reference with what functions/lib generates, and checks every Markdown link.
      await step(
        'docs (generated reference current, links resolve)',
        ...npx('vitest', ['run', '--project', 'docs']),
      );
      // Before the suite starts: these tests start and Ctrl-C whole suites on this port offset themselves.
      await step(
        'launcher tests (Ctrl-C leaves nothing)',
        ...npx('vitest', ['run', '--project', 'launcher']),
      );
      console.log('\n[launcher] emulator tests (integration, rules)');
      {
        const code = await withSuite('npx vitest run --project integration --project rules');
        if (code !== 0) return code;
      }
      // The whole story on a fresh suite of its own (a child launcher: its own emulators, stopped when it ends).
      await step('demo (npm run demo: every act must do what it says)', 'node', [
        path.join(ROOT, 'emulators', 'launcher.mjs'),
        'demo',
        '--no-build',
      ]);
      return 0;
    case 'exec': {
      const cmd = rest[0] === '--' ? rest.slice(1) : rest;
      if (cmd.length === 0) throw new Error('usage: launcher.mjs exec -- COMMAND');
      return withSuite(cmd.join(' '));
    }
    case 'bench': {
      await step('build functions', 'npm', ['run', 'build']);
      const which = rest[0] ?? 'all';
      return withSuite(`node ${JSON.stringify(path.join(ROOT, 'test', 'bench', 'run.mjs'))} ${which}`);
    }
    default:
      throw new Error(`unknown mode ${mode}: start | demo | test | exec -- CMD | bench [name]`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code ?? 0),
    (err) => {
      console.error(`[launcher] ${err.stack ?? err}`);
      process.exit(1);
    },
  );
}
