// @ts-check
/**
 * The command-line plumbing the local stand-ins share (`node emulators/{name}/server.mjs [--flag value]...`): telling
 * whether a module is the one node was started with, reading `--flag value` / `--flag=value` arguments, and running a
 * server until SIGINT or SIGTERM.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Whether the module at `importMetaUrl` is the script node was started with (links resolved on both sides).
 *
 * @param {string} importMetaUrl The module's `import.meta.url`.
 * @returns {boolean}
 */
export function isMain(importMetaUrl) {
  if (!process.argv[1]) return false;
  try {
    return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(importMetaUrl));
  } catch {
    return false;
  }
}

/**
 * Reads `--name value` and `--name=value` arguments, left to right. `--help` or `-h` prints `usage` and exits 0; an
 * argument not named in `flags` or a flag without a value throws. A flag given twice keeps its last value.
 *
 * @template {Record<string, (value: string) => unknown>} F
 * @param {readonly string[]} argv The arguments, e.g. `process.argv.slice(2)`.
 * @param {F} flags Flag name (without `--`) -> converter of its value (`String` to keep the text); a converter may
 *   throw to reject the value.
 * @param {string} usage Printed for `--help`.
 * @returns {{ [K in keyof F]?: ReturnType<F[K]> }} Only the flags that were given.
 */
export function parseFlags(argv, flags, usage) {
  /** @type {Record<string, unknown>} */
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = /** @type {string} */ (argv[i]);
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(0);
    }
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1];
    if (!m || name === undefined || !Object.hasOwn(flags, name)) throw new Error(`unknown argument ${arg}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    out[name] = /** @type {(value: string) => unknown} */ (flags[name])(value);
  }
  return /** @type {{ [K in keyof F]?: ReturnType<F[K]> }} */ (out);
}

/**
 * A `--port` value: an integer from 0 to 65535 (0 picks a free port).
 *
 * @param {string} value
 * @returns {number}
 */
export function parsePort(value) {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be 0-65535');
  return port;
}

/**
 * Runs a server from the command line: `start` (which reads the arguments, starts the server and says where it
 * listens) and then, on SIGINT or SIGTERM, closes it and exits 0. If `start` throws, prints `{name}: {message}` to
 * stderr and exits 1.
 *
 * @param {string} name Prefix of the error line, e.g. `storage stand-in`.
 * @param {() => Promise<{ close: () => Promise<void> }>} start
 * @returns {Promise<void>}
 */
export async function runUntilSignal(name, start) {
  try {
    const server = await start();
    const stop = () => {
      void server.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (err) {
    console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
