import { REGION } from './params';

/** Options every fireops function shares: one region, from the deploy-time param. */
export const baseOptions = { region: REGION } as const;
