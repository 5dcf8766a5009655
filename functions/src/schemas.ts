// Every zod schema, loaded on first use through `loadSchemas()`: zod costs ~50 ms to load, which a function
// instance would otherwise pay at cold start before its first request, whether it validates anything or not.
export { alertSchema, type Alert } from './platform/schema';
export { flagSchema, type Flag, FLAG_KEY_PATTERN } from './flags/schema';
export { formatZodError, parseOrThrow } from './platform/validation';
export {
  githubPayloadSchemas,
  otherEventSchema,
  opsEventSchema,
  githubSettingsSchema,
  type GithubSettings,
  type OpsEvent,
} from './webhooks/schema';
export { secretPolicySchema, type SecretPolicy, SECRET_ID_PATTERN } from './rotation/schema';
export { backupSettingsSchema, type BackupSettings } from './backups/schema';
export {
  healthCheckSchema,
  healthSettingsSchema,
  alertSettingsSchema,
  type HealthCheck,
  type HealthSettings,
  type AlertSettings,
  type MaintenanceWindow,
} from './health/schema';
export {
  canaryPolicySchema,
  rolloutCommandSchema,
  type CanaryPolicy,
  type RolloutCommandInput,
} from './canary/schema';
export { healthCatalogPublicSchema, healthSummaryDocSchema } from './health/rollup-schema';
