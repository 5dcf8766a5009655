export function signPayload(secret: string, rawBody: string | Uint8Array): string;
export function signPayloadSha1(secret: string, rawBody: string | Uint8Array): string;
export function verifySignature(
  secret: string,
  rawBody: string | Uint8Array,
  signature: string | undefined | null,
): boolean;
