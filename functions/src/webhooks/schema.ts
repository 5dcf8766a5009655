// What fireops reads of GitHub webhook payloads (only the fields it uses; GitHub adds fields freely, so objects
// are loose), the normalized event it publishes on `ops-events`, and `settings/github`, which admins edit.
import { z } from 'zod';

const repository = z.looseObject({
  id: z.number().int(),
  full_name: z.string().regex(/^[^/\s]+\/[^/\s]+$/),
  default_branch: z.string().optional(),
});
const sender = z.looseObject({ login: z.string() });
const base = { repository, sender };

export const githubPayloadSchemas = {
  ping: z.looseObject({
    zen: z.string(),
    hook_id: z.number().int(),
    hook: z.looseObject({
      id: z.number().int(),
      type: z.string(),
      active: z.boolean(),
      events: z.array(z.string()),
      config: z.looseObject({ url: z.string().optional(), content_type: z.string().optional() }),
    }),
    repository: repository.optional(),
    sender: sender.optional(),
  }),
  push: z.looseObject({
    ...base,
    ref: z.string(),
    before: z.string(),
    after: z.string(),
    pusher: z.looseObject({ name: z.string() }),
  }),
  workflow_run: z.looseObject({
    ...base,
    action: z.string(),
    workflow_run: z.looseObject({
      id: z.number().int(),
      name: z.string().nullable(),
      head_branch: z.string().nullable(),
      head_sha: z.string(),
      status: z.string().nullable(),
      conclusion: z.string().nullable(),
      run_number: z.number().int(),
    }),
  }),
  release: z.looseObject({
    ...base,
    action: z.string(),
    release: z.looseObject({
      id: z.number().int(),
      tag_name: z.string(),
      name: z.string().nullable(),
      target_commitish: z.string(),
      draft: z.boolean(),
      prerelease: z.boolean(),
    }),
  }),
  deployment: z.looseObject({
    ...base,
    action: z.string(),
    deployment: z.looseObject({
      id: z.number().int(),
      sha: z.string(),
      ref: z.string(),
      task: z.string(),
      environment: z.string(),
      payload: z.unknown().optional(),
    }),
  }),
  deployment_status: z.looseObject({
    ...base,
    action: z.string(),
    deployment_status: z.looseObject({
      id: z.number().int(),
      state: z.string(),
      environment: z.string().optional(),
      description: z.string().nullable().optional(),
    }),
    deployment: z.looseObject({
      id: z.number().int(),
      sha: z.string(),
      ref: z.string(),
      environment: z.string(),
    }),
  }),
} as const;

/** Events fireops does not act on still need a repository and sender to be recorded. */
export const otherEventSchema = z.looseObject({
  action: z.string().optional(),
  repository: repository.optional(),
  sender: sender.optional(),
});

/** The message fireops publishes on `ops-events` for each accepted delivery. */
export const opsEventSchema = z.strictObject({
  type: z.string(), // `event` or `event.action`
  deliveryId: z.string(),
  event: z.string(),
  action: z.string().nullable(),
  repo: z.string().nullable(),
  repoId: z.number().int().nullable(),
  defaultBranch: z.string().nullable(),
  ref: z.string().nullable(),
  sha: z.string().nullable(),
  environment: z.string().nullable(),
  release: z
    .strictObject({
      id: z.number().int(),
      tag: z.string(),
      name: z.string().nullable(),
      prerelease: z.boolean(),
    })
    .nullable(),
  deployment: z
    .strictObject({ id: z.number().int(), task: z.string(), payloadVersion: z.string().nullable() })
    .nullable(),
  workflowRun: z
    .strictObject({
      id: z.number().int(),
      name: z.string().nullable(),
      status: z.string().nullable(),
      conclusion: z.string().nullable(),
    })
    .nullable(),
  deploymentStatus: z.strictObject({ id: z.number().int(), state: z.string() }).nullable(),
  hook: z
    .strictObject({
      id: z.number().int(),
      type: z.string(),
      active: z.boolean(),
      events: z.array(z.string()),
      url: z.string().nullable(),
      contentType: z.string().nullable(),
    })
    .nullable(),
  actor: z.string().nullable(),
  receivedAtMs: z.number().int(),
});

export type OpsEvent = z.infer<typeof opsEventSchema>;

const repoName = z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'must be owner/name');

/** `settings/github`, edited by admins. */
export const githubSettingsSchema = z.strictObject({
  /** Repositories whose deliveries are acted on (`owner/name`); others are recorded as ignored. */
  allowedRepos: z.array(repoName).max(500),
  /** Environments whose `deployment` events start a rollout. */
  environments: z.array(z.string().min(1).max(100)).max(50).default([]),
  /** Environment a published release rolls out to. */
  releaseEnvironment: z.string().min(1).max(100).default('production'),
  /** Service a repository deploys, when it is not the repository's name. */
  services: z.record(repoName, z.string().min(1).max(100)).default({}),
  /** Hooks whose failed deliveries are recovered (`redeliverFailedWebhooks`). */
  hooks: z
    .array(
      z.strictObject({
        owner: z.string().min(1),
        repo: z.string().min(1),
        hookId: z.number().int().positive(),
      }),
    )
    .max(100)
    .default([]),
});

export type GithubSettings = z.infer<typeof githubSettingsSchema>;

export { formatZodError, parseOrThrow } from '../platform/validation';
