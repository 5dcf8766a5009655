/** Time comes in as a parameter so tests can move it; production uses the system clock. */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };
