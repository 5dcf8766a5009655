// Durations in milliseconds, for tests that move clocks by hand.
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
