// X-Hub-Signature-256 verification with @octokit/webhooks-methods (constant-time HMAC-SHA256 comparison) against
// every usable version of the webhook secret.
import type { SecretCandidate, SecretSource } from './webhook-secrets';

type Verify = (secret: string, payload: string, signature: string) => Promise<boolean>;
let verifyFn: Verify | undefined;

async function octokitVerify(): Promise<Verify> {
  // ESM-only package, loaded on first use.
  verifyFn ??= (await import('@octokit/webhooks-methods')).verify;
  return verifyFn;
}

export const SIGNATURE_PATTERN = /^sha256=[0-9a-f]{64}$/;

export type SignatureCheck =
  { ok: true; version: string; role: SecretCandidate['role'] } | { ok: false; reason: string };

async function firstMatch(candidates: SecretCandidate[], body: string, signature: string) {
  const verify = await octokitVerify();
  for (const c of candidates) {
    if (await verify(c.value, body, signature)) return c;
  }
  return undefined;
}

export async function checkSignature(
  rawBody: Buffer,
  signature: string,
  secrets: SecretSource,
): Promise<SignatureCheck> {
  // Malformed, wrong-length and non-hex signatures are refused before any HMAC is computed.
  if (!SIGNATURE_PATTERN.test(signature)) {
    return { ok: false, reason: 'X-Hub-Signature-256 must be sha256= followed by 64 lowercase hex digits' };
  }
  const body = rawBody.toString('utf8');
  const candidates = await secrets.candidates();
  let match = await firstMatch(candidates, body, signature);
  if (!match) {
    const fresh = await secrets.refreshAfterMiss();
    if (fresh) match = await firstMatch(fresh, body, signature);
  }
  if (!match) return { ok: false, reason: 'signature does not match the webhook secret' };
  return { ok: true, version: match.version, role: match.role };
}
