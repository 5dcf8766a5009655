import type { Actor } from './domain/audit-chain';

/** Who wrote: the Firestore auth context. Service accounts (fireops itself, the canary router) are `system`. */
export function actorFromAuth(authType: string, authId: string | undefined): Actor {
  const type = authType === 'service_account' || authType === 'system' ? 'system' : 'admin';
  return { type, id: authId ?? 'unknown', authType };
}
