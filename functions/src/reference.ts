// What the generated reference (docs/reference, written by functions/scripts/reference.mjs) documents beyond what
// the deployed functions declare themselves: the documents admins edit and their schemas, the settings read from
// the environment, and the topics. Never deployed and never imported by index.ts: it loads zod and every schema,
// which no function should pay for at cold start.
import { z } from 'zod';
import { EXPORT_SCHEDULE, PROBE_REGIONS, ROTATION_TOPIC } from './platform/params';
import { backupSettingsSchema } from './backups/schema';
import { canaryPolicySchema, rolloutCommandSchema } from './canary/schema';
import { alertSettingsSchema, timestampSchema } from './platform/schema';
import { flagSchema } from './flags/schema';
import { githubSettingsSchema } from './webhooks/schema';
import { healthCheckSchema, healthSettingsSchema } from './health/schema';
import { secretPolicySchema } from './rotation/schema';
import * as topicConstants from './platform/topics';

export type Capability = 'platform' | 'flags' | 'webhooks' | 'rotation' | 'backups' | 'health' | 'canary';

export interface AdminDocument {
  /** kebab-case, unique: the schema's file name (`docs/reference/schemas/<id>.schema.json`). */
  id: string;
  /** The Firestore path admins edit, `{name}` for a document id they choose, `.field` for one field. */
  path: string;
  capability: Capability;
  description: string;
  schema: z.ZodType;
}

/**
 * Every document an admin edits in the Firestore console (firestore.rules lets admins write exactly these:
 * `flags`, `settings`, `secretPolicies`, `healthChecks`, `canaryPolicies`, and `command` on `rollouts`).
 */
export const adminDocuments: readonly AdminDocument[] = [
  {
    id: 'flag',
    path: 'flags/{key}',
    capability: 'flags',
    description:
      'A feature flag. Keys are letters, digits, "_" and "-", starting with a letter; deployFreeze and ' +
      'maintenanceMode are reserved and cannot be deleted. The canary controller also writes rolloutPercent.',
    schema: flagSchema,
  },
  {
    id: 'settings-github',
    path: 'settings/github',
    capability: 'webhooks',
    description:
      'Which repositories GitHub deliveries are acted on for, which environments and releases start a ' +
      'rollout, and which hooks have their failed deliveries recovered.',
    schema: githubSettingsSchema,
  },
  {
    id: 'secret-policy',
    path: 'secretPolicies/{secretId}',
    capability: 'rotation',
    description:
      'How and when one Secret Manager secret is rotated (its strategy, interval and grace period); ' +
      'rotateRequestedAt asks for a rotation now.',
    schema: secretPolicySchema,
  },
  {
    id: 'settings-backups',
    path: 'settings/backups',
    capability: 'backups',
    description:
      'What the daily Firestore export covers, how long exports are kept, and how often a restore drill ' +
      'proves one restorable. An invalid document starts no export.',
    schema: backupSettingsSchema,
  },
  {
    id: 'health-check',
    path: 'healthChecks/{id}',
    capability: 'health',
    description:
      'One probe definition (http, tcp or tls): its target, conditions, thresholds, regions, maintenance ' +
      'windows and SLO. An invalid edit is refused and the previous valid definition keeps running.',
    schema: healthCheckSchema,
  },
  {
    id: 'settings-health',
    path: 'settings/health',
    capability: 'health',
    description:
      'Probe runner settings: targets the SSRF guard lets through, how often an open incident is announced ' +
      'again, and how long cycle documents are kept.',
    schema: healthSettingsSchema,
  },
  {
    id: 'settings-alerts',
    path: 'settings/alerts',
    capability: 'platform',
    description:
      'Where alerts are posted besides ops-alerts: the Secret Manager secret holding a Slack-compatible ' +
      'incoming webhook URL.',
    schema: alertSettingsSchema,
  },
  {
    id: 'canary-policy',
    path: 'canaryPolicies/{service}',
    capability: 'canary',
    description:
      "How a service's rollouts step, are judged (metrics, judge, thresholds) and routed (a flag or a Cloud " +
      'Run service). An invalid policy keeps the rollouts of the service from starting.',
    schema: canaryPolicySchema,
  },
  {
    id: 'rollout-command',
    path: 'rollouts/{id}.command',
    capability: 'canary',
    description:
      'The one field of a rollout an admin may write: approve, pause, resume, abort, promote-now or ' +
      'rollback-now, with a reason. The controller takes the admin from the write, not from `by`.',
    schema: rolloutCommandSchema,
  },
];

/**
 * The JSON Schema of an admin document: the input side (`io: 'input'`), what an admin writes, so a field with a
 * default is optional and shows its default. JSON Schema cannot say everything zod checks: refinements (cross-field
 * rules, condition syntax, time zones) are left out, and types it has no word for (`unrepresentable: 'any'`) become
 * `{}`; the Firestore timestamp is the one admins meet, described here.
 */
export function documentJsonSchema(doc: AdminDocument): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(doc.schema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      if (ctx.zodSchema === timestampSchema) {
        ctx.jsonSchema.description = 'A Firestore timestamp (the console type "timestamp"), not a string.';
      }
    },
  });
  return { $schema, title: doc.path, description: doc.description, ...rest };
}

/**
 * Settings that shape the deployment (a trigger's topic, a schedule, how many functions there are) and so are
 * read from the environment (functions/.env.<projectId>) when the code loads, not declared as params. Every
 * `process.env` read of platform/params.ts is here (test/docs checks it).
 */
export const environmentSettings: readonly { name: string; value: string; description: string }[] = [
  {
    name: 'ROTATION_TOPIC',
    value: ROTATION_TOPIC,
    description: "Topic of Secret Manager's rotation notices (onSecretEvent's trigger).",
  },
  {
    name: 'EXPORT_SCHEDULE',
    value: EXPORT_SCHEDULE,
    description: 'When scheduledExport runs (Cloud Scheduler syntax), in EXPORT_TIME_ZONE.',
  },
  {
    name: 'PROBE_REGIONS',
    value: PROBE_REGIONS.join(','),
    description: 'Regions the probe cycle is deployed to, comma-separated: one function per region.',
  },
];

/** The topics module: the generator lists its constants, with their doc comments. */
export const topics: Readonly<Record<string, unknown>> = topicConstants;
