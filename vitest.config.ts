import { defineConfig } from 'vitest/config';

// Three projects: `unit` needs nothing running; `integration` and `rules` need the emulator suite and run
// under `firebase emulators:exec` (see emulators/launcher.mjs), which fails them if the emulators are absent.
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
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/support/require-emulators.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'rules',
          include: ['test/rules/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/support/require-emulators.ts'],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
