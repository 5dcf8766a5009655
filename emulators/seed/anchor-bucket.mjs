// @ts-check
// The audit anchor bucket of the local suite (AUDIT_ANCHOR_BUCKET's default, `{project}-audit-anchors`), with a
// retention policy as `fireops bootstrap` creates it: platform-anchorAuditLog writes there every 15 minutes,
// verifyAuditLog and platform-verifyAuditSweep read it. Used by `npm start` (dev-session.mjs) and by tests that
// run the scheduled functions as `npm start` would after another test removed the bucket.

/**
 * Creates the bucket on the Storage stand-in, or sets its policy again when it is found on disk from an earlier
 * session (bucket metadata lives in the stand-in's memory).
 * @param {string} storageHost STORAGE_EMULATOR_HOST (http://host:port)
 * @param {string} project
 */
export async function ensureAnchorBucket(storageHost, project) {
  const bucket = `${project}-audit-anchors`;
  const policy = { retentionPolicy: { retentionPeriod: 3600 } };
  const created = await fetch(`${storageHost}/storage/v1/b?project=${project}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: bucket, ...policy }),
  });
  if (created.status === 409) {
    await fetch(`${storageHost}/storage/v1/b/${bucket}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(policy),
    });
  } else if (!created.ok) throw new Error(`anchor bucket: ${created.status} ${await created.text()}`);
  return bucket;
}
