// How much slower than a quiet developer machine the tests may find this one (issue 16.6). Every deadline a test
// waits on (waitFor, vitest's testTimeout and hookTimeout, the launcher tests) is multiplied by it.
//
//   FIREOPS_TEST_TIME_FACTOR=N   explicit (a positive number; 1 = the deadlines as written)
//   CI=true                      4: shared CI runners are slow and a flaky failure costs more than a slow one
//   otherwise                    2: a developer machine is often busy with other suites or an IDE
//
// Only deadlines scale: a passing test takes as long as its conditions take, never longer.
export function timeFactor(env: Record<string, string | undefined> = process.env): number {
  const explicit = Number(env.FIREOPS_TEST_TIME_FACTOR);
  if (env.FIREOPS_TEST_TIME_FACTOR && Number.isFinite(explicit) && explicit > 0) return explicit;
  return env.CI === 'true' ? 4 : 2;
}

/** `ms` scaled by the time factor: the deadline for something that takes about `ms` on a quiet machine. */
export function scaled(ms: number, env: Record<string, string | undefined> = process.env): number {
  return Math.round(ms * timeFactor(env));
}
