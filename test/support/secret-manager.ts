// The Secret Manager stand-in's control API (emulators/secret-manager/README.md): injected faults.
const CONTROL_URL = process.env.SECRET_MANAGER_STAND_IN_URL;

export interface SecretFault {
  /** e.g. GetSecret, AccessSecretVersion; any method when absent. */
  method?: string;
  /** A secret id; any secret when absent. */
  secret?: string;
  /** gRPC status code (default 7 PERMISSION_DENIED). */
  code?: number;
  message?: string;
  /** Calls to fail; until cleared when absent. */
  count?: number;
}

async function control(method: string, path: string, body?: unknown): Promise<unknown> {
  if (!CONTROL_URL) {
    throw new Error(
      'SECRET_MANAGER_STAND_IN_URL is not set: run under emulators/launcher.mjs, which starts the stand-in',
    );
  }
  const res = await fetch(`${CONTROL_URL}/_stand-in${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as unknown;
  if (!res.ok)
    throw new Error(`Secret Manager stand-in ${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export const injectSecretFault = (fault: SecretFault) => control('POST', '/faults', fault);
export const clearSecretFaults = () => control('DELETE', '/faults');
