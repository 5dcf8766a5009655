// platform-verifyAuditSweep: runs the verifier (audit-verify.ts) page by page within its time budget and keeps its
// position in `auditCheckpoints/verifier`, so the log is verified however large it grows. Every 7 days it starts a
// pass from genesis, which trusts nothing the database holds (not even this checkpoint), only the anchor bucket.
// A problem is alerted (critical, once per problem) and the checkpoint stays before it.
import { alertPublish } from './alerts';
import { AUDIT_CHECKPOINTS } from './collections';
import type { Clock } from './domain/clock';
import { db } from './firestore';
import { runOnce } from './idempotency';
import { emptyVerifyState, verifyAuditPage, type VerifyPage, type VerifyState } from './audit-verify';
import type { AnchorStore } from './anchor-store';
import { VERIFIER_CHECKPOINT_DOC } from './verify-audit-log';

export const FULL_PASS_EVERY_MS = 7 * 24 * 3600_000;

interface CheckpointDoc {
  state: VerifyState;
  /** When the current pass started from genesis. */
  passStartedAtMs: number;
  updatedAtMs: number;
  /** When the current pass last reached every head. */
  caughtUpAtMs?: number;
}

export interface SweepOutcome {
  pages: number;
  done: boolean;
  ok: boolean;
  newPass: boolean;
  entriesChecked: number;
  anchorsChecked: number;
  problems: VerifyPage['problems'];
}

export async function sweepAuditVerification(
  store: AnchorStore | undefined,
  clock: Clock,
  opts: { pageSize: number; budgetMs: number },
): Promise<SweepOutcome> {
  const ref = db().collection(AUDIT_CHECKPOINTS).doc(VERIFIER_CHECKPOINT_DOC);
  const saved = (await ref.get()).data() as CheckpointDoc | undefined;
  const startMs = clock.nowMs();
  const newPass = !saved?.state || startMs - saved.passStartedAtMs >= FULL_PASS_EVERY_MS;
  let state = newPass ? emptyVerifyState() : saved.state;
  const passStartedAtMs = newPass ? startMs : saved.passStartedAtMs;
  const outcome: SweepOutcome = {
    pages: 0,
    done: false,
    ok: true,
    newPass,
    entriesChecked: 0,
    anchorsChecked: 0,
    problems: [],
  };
  const deadlineMs = startMs + opts.budgetMs;
  while (clock.nowMs() < deadlineMs) {
    const page = await verifyAuditPage({ state, store, clock, pageSize: opts.pageSize, deadlineMs });
    outcome.pages += 1;
    outcome.entriesChecked += page.entriesChecked;
    outcome.anchorsChecked += page.anchors.checked;
    if (!page.ok) {
      outcome.ok = false;
      outcome.problems = page.problems;
      break;
    }
    state = page.state;
    const doc: CheckpointDoc = {
      state,
      passStartedAtMs,
      updatedAtMs: clock.nowMs(),
      ...(page.done
        ? { caughtUpAtMs: clock.nowMs() }
        : saved?.caughtUpAtMs && !newPass
          ? { caughtUpAtMs: saved.caughtUpAtMs }
          : {}),
    };
    await ref.set(doc);
    if (page.done) {
      outcome.done = true;
      break;
    }
  }
  if (!outcome.ok) {
    const first = outcome.problems[0]!;
    const key = `audit-verify:${first.stream ?? 'anchors'}:${first.problem}:${first.seq ?? first.anchor ?? ''}`;
    const nowMs = clock.nowMs();
    await runOnce(
      'transition',
      key,
      () =>
        Promise.resolve({
          value: undefined,
          publishes: [
            alertPublish({
              alertId: key.slice(0, 300),
              severity: 'critical',
              kind: 'audit.tamper-evidence',
              title: `audit log: ${first.problem}${first.stream ? ` in stream ${first.stream}` : ''}`.slice(
                0,
                200,
              ),
              text: `${outcome.problems
                .map((p) => p.detail)
                .join('\n')
                .slice(0, 3000)}\nRunbook: docs/security.md#tamper-evidence (anchor mismatch).`,
              target: (first.id ?? first.anchor ?? first.stream ?? 'auditLog').slice(0, 500),
              correlationId: key.slice(0, 300),
              atMs: nowMs,
            }),
          ],
        }),
      { clock },
    );
  }
  return outcome;
}
