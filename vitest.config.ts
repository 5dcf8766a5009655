import { defineConfig } from 'vitest/config';
import { scaled } from './test/support/time-factor';

// `unit` and `docs` need nothing running (`docs` needs the build); `integration` and `rules` need the emulator
// suite and run under `firebase emulators:exec` (see emulators/launcher.mjs), which fails them if the emulators are
// absent.
export default defineConfig({
  test: {
    // Integration files share one Firestore emulator and clear it between tests: run files one at a time.
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        // Starts and stops whole suites itself: run alone, outside any suite (`launcher.mjs test` runs it first).
        test: {
          name: 'launcher',
          include: ['test/launcher/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        // Needs the build: the generated reference is compared with docs/reference (`launcher.mjs test` builds).
        test: {
          name: 'docs',
          include: ['test/docs/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/support/require-emulators.ts'],
          // Scaled like every wait (test/support/time-factor.ts): a loaded machine gets proportionally longer.
          testTimeout: scaled(60_000),
          hookTimeout: scaled(60_000),
        },
      },
      {
        test: {
          name: 'rules',
          include: ['test/rules/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/support/require-emulators.ts'],
          testTimeout: scaled(30_000),
          hookTimeout: scaled(30_000),
        },
      },
    ],
  },
});
