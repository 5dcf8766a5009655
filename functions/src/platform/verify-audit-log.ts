// HTTPS, any fireops role (viewer and up): walks the audit log's hash chains and reports the first broken or
// missing link per stream. Verifying changes nothing, so a viewer may ask (docs/security.md#who-may-do-what).
//   GET /verifyAuditLog?stream=flags      Authorization: Bearer <Firebase ID token with custom claim role (or admin=true)>
import { type Request } from 'firebase-functions/v2/https';
import type { Response } from 'express';
import { listAuditStreams, verifyAuditStream } from './audit-log';
import { adminApp } from './firestore';
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
    const streams = requested ? [requested] : await listAuditStreams();
    const reports = [];
    for (const stream of streams) reports.push(await verifyAuditStream(stream));
    const ok = reports.every((r) => r.ok);
    log.info('audit log verified', {
      ok,
      streams: reports.map((r) => ({ stream: r.stream, ok: r.ok, lastSeq: r.lastSeq })),
      by: claims.uid,
    });
    res.status(200).json({ ok, streams: reports });
  } catch (err) {
    await sendHttpError(res, log, err, { fn: 'platform.verifyAuditLog' });
  }
}
