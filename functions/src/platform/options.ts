import { REGION } from './params';
import { SERVICE_ACCOUNTS, type DeployGroup } from './iam';

/**
 * Options every function of a deploy group shares: one region (the deploy-time param) and the group's own service
 * account (platform/iam.ts). `name@` is firebase-tools' shorthand for name@PROJECT.iam.gserviceaccount.com.
 */
export function groupOptions(group: DeployGroup) {
  return { region: REGION, serviceAccount: `${SERVICE_ACCOUNTS[group]}@` } as const;
}

/** The public read-only endpoints run as the reader account (platform/iam.ts: no secret behind a public URL). */
export const readerAccount = `${SERVICE_ACCOUNTS.reader}@` as const;
