// Secret Manager operations of a rotation, each idempotent so a retry after a crash finds its own work instead of
// repeating it. Aliases: `pending` (created, not yet live), `current`, `previous` (during the grace period).
// Annotations: `fireops-rotation-id` marks the rotation that owns `pending`; `fireops-previous-expires-at` tells
// consumers such as githubWebhook when `previous` stops being accepted.
import { randomBytes } from 'node:crypto';
import { redactor } from '../platform/domain/redact';
import { PREVIOUS_EXPIRES_ANNOTATION } from '../webhooks/webhook-secrets';
import {
  accessSecretValue,
  secretError,
  secretManager,
  secretName,
  versionName,
} from '../platform/secret-manager';

export const ROTATION_ANNOTATION = 'fireops-rotation-id';

type Aliases = Record<string, number>;

function versionNumber(name: string | null | undefined): string {
  return name?.split('/').pop() ?? '';
}

async function getSecret(secretId: string) {
  try {
    const [secret] = await secretManager().getSecret({ name: secretName(secretId) });
    const aliases: Aliases = {};
    for (const [k, v] of Object.entries(secret.versionAliases ?? {})) aliases[k] = Number(String(v));
    return { secret, aliases, annotations: { ...(secret.annotations ?? {}) }, etag: secret.etag ?? '' };
  } catch (err) {
    throw secretError(err, `secret ${secretId}`);
  }
}

async function updateSecret(
  secretId: string,
  aliases: Aliases,
  annotations: Record<string, string>,
  etag: string,
) {
  try {
    await secretManager().updateSecret({
      secret: { name: secretName(secretId), versionAliases: aliases, annotations, etag },
      updateMask: { paths: ['version_aliases', 'annotations'] },
    });
  } catch (err) {
    throw secretError(err, `update of secret ${secretId}`);
  }
}

export function generateValue(bytes: number, encoding: 'hex' | 'base64url'): string {
  const value = randomBytes(bytes).toString(encoding);
  redactor.register(value);
  return value;
}

/**
 * Adds the rotation's new version and points `pending` at it. Idempotent: if `pending` already belongs to this
 * rotation, that version is returned; if a crash came between adding a version and aliasing it, the unaliased
 * version added since this rotation's create began is adopted instead of adding another.
 */
export async function createPendingVersion(
  secretId: string,
  rotationId: string,
  createStartedAtMs: number,
  makeValue: () => Promise<string>,
): Promise<{ newVersion: string; oldVersion: string | null }> {
  let { aliases, annotations, etag } = await getSecret(secretId);
  if (annotations[ROTATION_ANNOTATION] === rotationId && aliases.pending !== undefined) {
    return {
      newVersion: String(aliases.pending),
      oldVersion: aliases.current !== undefined ? String(aliases.current) : null,
    };
  }
  const client = secretManager();
  if (aliases.current === undefined) {
    // A secret made without aliases is read as `latest`. Pin `current` to its newest enabled version before adding
    // one, so that version is the one replaced (kept as `previous`, retired, destroyed) and readers that fall back
    // to `latest` do not jump to the new value before it is applied.
    const [enabled] = await client
      .listSecretVersions({ parent: secretName(secretId), filter: 'state:ENABLED' })
      .catch((err: unknown) => {
        throw secretError(err, `versions of ${secretId}`);
      });
    const newest = enabled.map((v) => Number(versionNumber(v.name))).sort((a, b) => b - a)[0];
    if (newest !== undefined) {
      await updateSecret(secretId, { ...aliases, current: newest }, annotations, etag);
      ({ aliases, annotations, etag } = await getSecret(secretId));
    }
  }
  const oldVersion = aliases.current !== undefined ? String(aliases.current) : null;
  const aliased = new Set(Object.values(aliases).map(String));
  const [versions] = await client
    .listSecretVersions({ parent: secretName(secretId), filter: 'state:ENABLED' })
    .catch((err: unknown) => {
      throw secretError(err, `versions of ${secretId}`);
    });
  const orphan = versions
    .filter((v) => !aliased.has(versionNumber(v.name)))
    .filter(
      (v) =>
        Number(v.createTime?.seconds ?? 0) * 1000 + Math.floor((v.createTime?.nanos ?? 0) / 1e6) >=
        createStartedAtMs - 1000,
    )
    .sort((a, b) => Number(versionNumber(b.name)) - Number(versionNumber(a.name)))[0];
  let newVersion: string;
  if (orphan) {
    newVersion = versionNumber(orphan.name);
  } else {
    const value = await makeValue();
    try {
      const [added] = await client.addSecretVersion({
        parent: secretName(secretId),
        payload: { data: Buffer.from(value) },
      });
      newVersion = versionNumber(added.name);
    } catch (err) {
      throw secretError(err, `new version of ${secretId}`);
    }
  }
  await updateSecret(
    secretId,
    { ...aliases, pending: Number(newVersion) },
    { ...annotations, [ROTATION_ANNOTATION]: rotationId },
    etag,
  );
  return { newVersion, oldVersion };
}

/** Makes the new version `current` and the old one `previous` (until `previousExpiresAtMs`); drops `pending`. */
export async function promote(
  secretId: string,
  newVersion: string,
  oldVersion: string | null,
  previousExpiresAtMs: number,
) {
  const { aliases, annotations, etag } = await getSecret(secretId);
  if (String(aliases.current) === newVersion && aliases.pending === undefined) return;
  const next: Aliases = { ...aliases, current: Number(newVersion) };
  delete next.pending;
  if (oldVersion) next.previous = Number(oldVersion);
  else delete next.previous;
  const nextAnnotations: Record<string, string> = {
    ...annotations,
    [PREVIOUS_EXPIRES_ANNOTATION]: new Date(previousExpiresAtMs).toISOString(),
  };
  delete nextAnnotations[ROTATION_ANNOTATION];
  await updateSecret(secretId, next, nextAnnotations, etag);
}

async function setState(secretId: string, version: string, state: 'disable' | 'destroy') {
  const client = secretManager();
  const name = versionName(secretId, version);
  try {
    const [v] = await client.getSecretVersion({ name });
    const current = String(v.state);
    if (current === 'DESTROYED' || (state === 'disable' && current === 'DISABLED')) return;
    if (state === 'disable') await client.disableSecretVersion({ name });
    else await client.destroySecretVersion({ name });
  } catch (err) {
    throw secretError(err, `${state} of ${secretId} version ${version}`);
  }
}

/** After the grace period: `previous` is disabled and its alias and expiry annotation removed. */
export async function retirePrevious(secretId: string, oldVersion: string | null) {
  const { aliases, annotations, etag } = await getSecret(secretId);
  // Only this rotation's `previous`: never another rotation's.
  if (oldVersion !== null && String(aliases.previous) === oldVersion) {
    const next = { ...aliases };
    delete next.previous;
    const nextAnnotations = { ...annotations };
    delete nextAnnotations[PREVIOUS_EXPIRES_ANNOTATION];
    await updateSecret(secretId, next, nextAnnotations, etag);
  }
  if (oldVersion) await setState(secretId, oldVersion, 'disable');
}

export async function destroyVersion(secretId: string, version: string | null) {
  if (version) await setState(secretId, version, 'destroy');
}

/** Rollback: the pending version is disabled and `pending` removed; `current` never moved. */
export async function abandonPending(secretId: string, rotationId: string, newVersion: string | null) {
  const { aliases, annotations, etag } = await getSecret(secretId);
  if (annotations[ROTATION_ANNOTATION] === rotationId || aliases.pending !== undefined) {
    const next = { ...aliases };
    delete next.pending;
    const nextAnnotations = { ...annotations };
    delete nextAnnotations[ROTATION_ANNOTATION];
    await updateSecret(secretId, next, nextAnnotations, etag);
  }
  if (newVersion) await setState(secretId, newVersion, 'disable');
}

export async function readVersionValue(secretId: string, version: string): Promise<string> {
  return (await accessSecretValue(secretId, version)).value;
}
