// Ctrl-C leaves nothing running (issue 16.5). Runs outside any suite (`launcher.mjs test` runs it before the
// emulator tests, on the same FIREOPS_PORT_OFFSET), starting and stopping the suite as `npm start` does.
//
// What a terminal does on Ctrl-C: it sends SIGINT to every process of the foreground process group. Here the
// launcher is started in a process group of its own (as a shell job), and the test sends SIGINT to that whole
// group, exactly as the terminal would (the launcher, and anything it left in its group; firebase-tools is in a
// group of its own by design and must be stopped by the launcher). Users press Ctrl-C again when stopping takes
// a few seconds, so a second SIGINT follows 1 s later: the launcher used to die of it (its handler was `once`)
// before ending firebase-tools' group, leaving functionsEmulatorRuntime workers to init. (Under `npm start`,
// npm and its `sh` get the terminal's SIGINT too; npm forwards it to `sh`, not to the launcher.)
//
// What counts as "left behind": every process whose environment carries this run's marker, which all of the
// suite inherits (firebase-tools, its functionsEmulatorRuntime workers, the Java emulators, dev-session), still
// present once the launcher has exited. Zombies (already dead, waiting for init to reap them) do not count.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scaled } from '../support/time-factor';

const ROOT = path.resolve(__dirname, '..', '..');
const CYCLES = Number(process.env.FIREOPS_CTRL_C_CYCLES ?? 2);

/** Live processes (not zombies) whose environment holds `marker`. */
function processesMarked(marker: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (!environ.includes(marker)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 160);
      out.push({ pid: Number(pid), cmd });
    } catch {
      /* gone, or not ours */
    }
  }
  return out;
}

/** One `npm start` (without the build): the suite up, functions invoked by the scheduler, then Ctrl-C. */
async function startAndInterrupt(cycle: number) {
  const marker = `FIREOPS_CTRL_C_MARK=${randomUUID()}`;
  const [key, value] = marker.split('=') as [string, string];
  const launcher = spawn(
    process.execPath,
    ['emulators/launcher.mjs', 'exec', '--', 'node', 'emulators/dev-session.mjs'],
    { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, [key]: value } },
  );
  let output = '';
  const exited = new Promise<number | null>((r) => launcher.on('exit', (code) => r(code)));
  const running = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`cycle ${cycle}: the suite did not come up:\n${output.slice(-3000)}`)),
      scaled(150_000),
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // A function answered the scheduler: the emulator has started functionsEmulatorRuntime workers, the
      // processes that used to be left behind.
      if (/\[scheduler\] [\w-]+ @ \S+ -> \d+/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    launcher.stdout.on('data', onData);
    launcher.stderr.on('data', onData);
    void exited.then(() =>
      reject(new Error(`cycle ${cycle}: the launcher exited early:\n${output.slice(-3000)}`)),
    );
  });
  try {
    await running;
    expect(processesMarked(value).length).toBeGreaterThan(2);
  } finally {
    // The terminal's Ctrl-C: SIGINT to the foreground process group. Then a second Ctrl-C while the suite stops,
    // as an impatient user gives (stopping takes seconds): it must not cut the stop short.
    const ctrlC = () => {
      try {
        process.kill(-launcher.pid!, 'SIGINT');
      } catch {
        /* already gone */
      }
    };
    ctrlC();
    setTimeout(ctrlC, 1_000).unref();
  }
  const code = await Promise.race([
    exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`cycle ${cycle}: the launcher did not stop`)), scaled(60_000)),
    ),
  ]);
  const left = processesMarked(value);
  // Never leave a failed cycle's processes to the next test or engineer.
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return { code, left };
}

describe('Ctrl-C on the local suite (issue 16.5)', () => {
  // Linux only (/proc), like the launcher's own orphan sweep.
  it(
    `leaves no process running, ${CYCLES} starts and stops in a row`,
    async () => {
      expect(existsSync(path.join(ROOT, 'functions', 'lib', 'index.js'))).toBe(true);
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        const { code, left } = await startAndInterrupt(cycle);
        expect({ cycle, left }).toEqual({ cycle, left: [] });
        expect(code).toBe(130);
      }
    },
    scaled(240_000) * CYCLES,
  );
});
