import { z } from 'zod';

/** A message on `ops-alerts`: something a human should know. `alertId` lets consumers drop redeliveries. */
export const alertSchema = z.strictObject({
  alertId: z.string().min(1).max(300),
  severity: z.enum(['info', 'warning', 'critical']),
  kind: z.string().min(1).max(100),
  title: z.string().min(1).max(200),
  text: z.string().max(4000),
  target: z.string().max(500),
  correlationId: z.string().max(300),
  atMs: z.number().int().nonnegative(),
});

export type Alert = z.infer<typeof alertSchema>;

export { OPS_ALERTS_TOPIC } from './topics';
