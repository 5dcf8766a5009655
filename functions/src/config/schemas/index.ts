// Every zod schema, loaded on first use through `loadSchemas()`: zod costs ~50 ms to load, which a function
// instance would otherwise pay at cold start before its first request, whether it validates anything or not.
export { alertSchema, type Alert } from './alert';
export { flagSchema, type Flag, FLAG_KEY_PATTERN } from './flag';
export { formatZodError, parseOrThrow } from '../validation';
export {
  githubPayloadSchemas,
  otherEventSchema,
  opsEventSchema,
  githubSettingsSchema,
  type GithubSettings,
  type OpsEvent,
} from './github';
export { secretPolicySchema, type SecretPolicy, SECRET_ID_PATTERN } from './secret-policy';
export { backupSettingsSchema, type BackupSettings } from './backups';
export {
  healthCheckSchema,
  healthSettingsSchema,
  alertSettingsSchema,
  type HealthCheck,
  type HealthSettings,
  type AlertSettings,
  type MaintenanceWindow,
} from './health';
export {
  canaryPolicySchema,
  rolloutCommandSchema,
  type CanaryPolicy,
  type RolloutCommandInput,
} from './canary';
export { healthCatalogPublicSchema, healthSummaryDocSchema } from './health-rollup';
