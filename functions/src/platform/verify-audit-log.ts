// HTTPS, any fireops role (viewer and up: verifying changes nothing, docs/security.md#who-may-do-what): verifies
// the audit log against its anchors in bounded pages (audit-verify.ts) and reports the first broken or missing
// link per stream. Read-only: it starts from the sweep's checkpoint (`auditCheckpoints/verifier`), from genesis
// (`from=genesis`) or from the cursor of its previous answer.
//   GET /verifyAuditLog?stream=flags&from=genesis&pageSize=2000&cursor=...
//   Authorization: Bearer <Firebase ID token with custom claim role (or the legacy admin=true)>
import { type Request } from 'firebase-functions/v2/https';
import type { Response } from 'express';
import { AUDIT_CHECKPOINTS } from './collections';
import {
  decodeCursor,
  emptyVerifyState,
  encodeCursor,
  verifyAuditPage,
  type VerifyState,
} from './audit-verify';
import { CloudStorageAnchorStore } from './anchor-store';
import { systemClock } from './domain/clock';
import { AUDIT_ANCHOR_BUCKET } from './params';
import { adminApp, db, projectId } from './firestore';

/** Units of work (entry or anchor reads) one answer does at most, unless `pageSize` asks for fewer or more. */
export const VERIFY_PAGE_SIZE = 2000;
export const VERIFY_PAGE_SIZE_MAX = 10_000;
/** Time one answer may spend reading (the function's timeout is 300 s). */
export const VERIFY_TIME_BUDGET_MS = 60_000;
export const VERIFIER_CHECKPOINT_DOC = 'verifier';

/** The sweep's checkpoint, or nothing yet. */
export async function readVerifierCheckpoint(): Promise<VerifyState | undefined> {
  const snap = await db().collection(AUDIT_CHECKPOINTS).doc(VERIFIER_CHECKPOINT_DOC).get();
  const state = snap.data()?.state as VerifyState | undefined;
  return state && typeof state === 'object' ? state : undefined;
}

/** The anchor bucket: AUDIT_ANCHOR_BUCKET, or `{project}-audit-anchors` (what `fireops bootstrap` creates). */
export function anchorStore(): CloudStorageAnchorStore {
  return new CloudStorageAnchorStore(AUDIT_ANCHOR_BUCKET.value() || `${projectId()}-audit-anchors`);
}
import { logger } from './logger';
import { STREAM_PATTERN } from './domain/audit-chain';
import { sendHttpError } from './error-mapping';
import { roleOf } from './domain/roles';

export type TokenVerifier = (idToken: string) => Promise<{ uid: string; admin?: unknown; role?: unknown }>;

const firebaseTokenVerifier: TokenVerifier = async (idToken) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (cold start)
  const { getAuth } = require('firebase-admin/auth') as typeof import('firebase-admin/auth');
  return getAuth(adminApp()).verifyIdToken(idToken);
};

export async function handleVerifyAuditLog(
  req: Request,
  res: Response,
  verifyToken: TokenVerifier = firebaseTokenVerifier,
): Promise<void> {
  const log = logger({ function: 'verifyAuditLog' });
  if (req.method !== 'GET' && req.method !== 'POST') {
    res.status(405).json({ error: 'use GET or POST' });
    return;
  }
  const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
  if (!token) {
    res.status(401).json({ error: 'missing bearer token' });
    return;
  }
  let claims;
  try {
    claims = await verifyToken(token);
  } catch {
    res.status(401).json({ error: 'invalid token' });
    return;
  }
  if (roleOf(claims) === null) {
    res.status(403).json({ error: 'a fireops role (viewer or above) is required' });
    return;
  }
  try {
    const requested = typeof req.query.stream === 'string' ? req.query.stream : undefined;
    if (requested !== undefined && !STREAM_PATTERN.test(requested)) {
      res.status(400).json({ error: `stream '${requested}' is not a valid stream name`, field: 'stream' });
      return;
    }
    const from = typeof req.query.from === 'string' ? req.query.from : 'checkpoint';
    if (from !== 'checkpoint' && from !== 'genesis') {
      res.status(400).json({ error: "from must be 'checkpoint' or 'genesis'", field: 'from' });
      return;
    }
    const pageSize = req.query.pageSize === undefined ? VERIFY_PAGE_SIZE : Number(req.query.pageSize);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > VERIFY_PAGE_SIZE_MAX) {
      res.status(400).json({ error: `pageSize must be 1 to ${VERIFY_PAGE_SIZE_MAX}`, field: 'pageSize' });
      return;
    }
    let state: VerifyState;
    if (typeof req.query.cursor === 'string') {
      try {
        state = decodeCursor(req.query.cursor);
      } catch {
        res.status(400).json({ error: 'cursor is not one this endpoint returned', field: 'cursor' });
        return;
      }
    } else {
      state = (from === 'checkpoint' ? await readVerifierCheckpoint() : undefined) ?? emptyVerifyState();
    }
    const clock = systemClock;
    const page = await verifyAuditPage({
      state,
      store: anchorStore(),
      clock,
      pageSize,
      deadlineMs: clock.nowMs() + VERIFY_TIME_BUDGET_MS,
      ...(requested ? { stream: requested } : {}),
    });
    const { state: next, ...answer } = page;
    const cursor = page.done || !page.ok ? undefined : encodeCursor(next);
    log.info('audit log verified', {
      ok: page.ok,
      done: page.done,
      entriesChecked: page.entriesChecked,
      anchorsChecked: page.anchors.checked,
      problems: page.problems.map((p) => ({ stream: p.stream, problem: p.problem, seq: p.seq })),
      by: claims.uid,
    });
    // Not done: call again with `cursor` (the same stream filter) to go on where this answer stopped.
    res.status(200).json({ ...answer, ...(cursor ? { next: { cursor } } : {}) });
  } catch (err) {
    await sendHttpError(res, log, err, { fn: 'platform.verifyAuditLog' });
  }
}
