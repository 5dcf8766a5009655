// Deployed functions, and nothing else: one deploy group per capability, so `firebase deploy --only
// functions:health` deploys one capability and every function id says its capability (`health-probeCycleEuropeWest1`,
// `webhooks-githubWebhook`). docs/reference/functions.md lists them all.
export * as platform from './platform/functions';
export * as flags from './flags/functions';
export * as webhooks from './webhooks/functions';
export * as rotation from './rotation/functions';
export * as backups from './backups/functions';
export * as health from './health/functions';
export * as canary from './canary/functions';
