// Leases with an acquisition counter: two overlapping runs of a scheduled job, or two controllers, do the work
// once. The counter makes a late release harmless; writes are guarded by their own state checks, not by it. The adapter runs `decideLease` inside a Firestore transaction.

export interface LeaseState {
  owner: string;
  expiresAtMs: number;
  /** Incremented on every acquisition; release compares it, so a run whose lease expired cannot free the next. */
  fencing: number;
}

export type LeaseDecision =
  { acquired: true; next: LeaseState } | { acquired: false; heldBy: string; expiresAtMs: number };

export function decideLease(
  current: LeaseState | undefined,
  owner: string,
  nowMs: number,
  ttlMs: number,
): LeaseDecision {
  if (!(ttlMs > 0)) throw new RangeError('lease ttl must be positive');
  if (current && current.expiresAtMs > nowMs && current.owner !== owner) {
    return { acquired: false, heldBy: current.owner, expiresAtMs: current.expiresAtMs };
  }
  return {
    acquired: true,
    next: { owner, expiresAtMs: nowMs + ttlMs, fencing: (current?.fencing ?? 0) + 1 },
  };
}

/** A release only clears the lease its caller still holds (same owner and acquisition counter). */
export function mayRelease(current: LeaseState | undefined, owner: string, fencing: number): boolean {
  return current !== undefined && current.owner === owner && current.fencing === fencing;
}
