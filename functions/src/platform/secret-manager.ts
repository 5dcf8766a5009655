// Secret Manager, through the real client. Talks to the local emulator when SECRET_MANAGER_EMULATOR_HOST is set
// (host:port, the same convention as FIRESTORE_EMULATOR_HOST), to the real service otherwise. Every value read is
// registered with the redactor, so it can never reach a log line.
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { TransientError, ValidationError } from './domain/errors';
import { redactor } from './domain/redact';
import { projectId } from './firestore';

let client: SecretManagerServiceClient | undefined;

/** Options that point a Google gRPC client at a local emulator (`host:port`), or undefined for the real service. */
export function emulatorClientOptions(hostPort: string | undefined) {
  if (!hostPort) return undefined;
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(hostPort);
  if (!match) throw new Error(`emulator address '${hostPort}' must be host:port`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (cold start)
  const grpc = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
  return {
    apiEndpoint: match[1]!,
    port: Number(match[2]),
    sslCreds: grpc.credentials.createInsecure(),
    // Skips the universe-domain probe of the metadata server, which does not exist locally.
    universeDomain: 'googleapis.com',
  };
}

export function secretManager(env: NodeJS.ProcessEnv = process.env): SecretManagerServiceClient {
  if (!client) {
    const { SecretManagerServiceClient: Client } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (cold start)
      require('@google-cloud/secret-manager') as typeof import('@google-cloud/secret-manager');
    client = new Client({
      projectId: projectId(env),
      ...emulatorClientOptions(env.SECRET_MANAGER_EMULATOR_HOST),
    });
  }
  return client;
}

export function secretName(secretId: string, project = projectId()): string {
  return `projects/${project}/secrets/${secretId}`;
}

export function versionName(secretId: string, version: string | number, project = projectId()): string {
  return `${secretName(secretId, project)}/versions/${version}`;
}

const GRPC = { NOT_FOUND: 5, FAILED_PRECONDITION: 9, INVALID_ARGUMENT: 3 } as const;

/**
 * Maps a Secret Manager error: a missing or unusable (disabled, destroyed) version and a malformed name are
 * permanent; everything else is transient, PERMISSION_DENIED and UNAUTHENTICATED included: a missing IAM grant
 * is fixed by an operator, and the same request then succeeds (issue 12.4). The client's error stays the
 * `cause`, so error-mapping.ts can name the infrastructure cause of its alert.
 */
export function secretError(err: unknown, what: string): Error {
  const code = (err as { code?: number }).code;
  if (code === GRPC.NOT_FOUND || code === GRPC.FAILED_PRECONDITION || code === GRPC.INVALID_ARGUMENT) {
    // The message names the version, never a value.
    return new ValidationError(`${what}: ${(err as Error).message}`);
  }
  return new TransientError(`${what}: ${(err as Error).message}`, { cause: err });
}

/** Reads a secret version (number, `latest` or alias) as UTF-8, and registers the value for redaction. */
export async function accessSecretValue(
  secretId: string,
  version: string | number = 'latest',
): Promise<{ value: string; version: string }> {
  try {
    const [response] = await secretManager().accessSecretVersion({ name: versionName(secretId, version) });
    const data = response.payload?.data;
    const value = typeof data === 'string' ? data : Buffer.from(data ?? new Uint8Array()).toString('utf8');
    redactor.register(value);
    const resolved = response.name?.split('/').pop() ?? String(version);
    return { value, version: resolved };
  } catch (err) {
    throw secretError(err, `secret ${secretId} version ${version}`);
  }
}
