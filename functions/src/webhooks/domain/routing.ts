// What fireops does with each GitHub event it accepted (the `ops-events` router). Pure: the trigger applies it.

/** The normalized event on `ops-events` (webhooks/schema.ts validates the same shape). */
export interface OpsEvent {
  type: string;
  deliveryId: string;
  event: string;
  action: string | null;
  repo: string | null;
  repoId: number | null;
  defaultBranch: string | null;
  ref: string | null;
  sha: string | null;
  environment: string | null;
  release: { id: number; tag: string; name: string | null; prerelease: boolean } | null;
  deployment: { id: number; task: string; payloadVersion: string | null } | null;
  workflowRun: { id: number; name: string | null; status: string | null; conclusion: string | null } | null;
  deploymentStatus: { id: number; state: string } | null;
  hook: {
    id: number;
    type: string;
    active: boolean;
    events: string[];
    url: string | null;
    contentType: string | null;
  } | null;
  actor: string | null;
  receivedAtMs: number;
}

export interface RoutingSettings {
  environments: readonly string[];
  releaseEnvironment: string;
  services: Readonly<Record<string, string>>;
}

/**
 * The `task` of the GitHub deployment fireops creates for a rollout started by a release (a release has no
 * deployment of its own to write statuses on); deployment events with this task are fireops' own and ignored.
 */
export const FIREOPS_DEPLOYMENT_TASK = 'deploy:fireops-canary';

/** `rolloutRequests/{id}`: what the canary controller consumes. */
export interface RolloutRequest {
  id: string;
  source: 'release' | 'deployment';
  repo: string;
  service: string;
  version: string;
  sha: string | null;
  ref: string | null;
  environment: string;
  githubDeploymentId: number | null;
  deliveryId: string;
  requestedBy: string | null;
}

export type RouteDecision =
  | { kind: 'record'; what: 'ping' | 'push' | 'workflow_run' | 'deployment_status'; reason: string }
  | { kind: 'rollout-request'; reason: string; request: RolloutRequest }
  | { kind: 'ignore'; reason: string };

export function serviceFor(repo: string, settings: RoutingSettings): string {
  return settings.services[repo] ?? repo.split('/')[1] ?? repo;
}

export function routeEvent(e: OpsEvent, settings: RoutingSettings): RouteDecision {
  switch (e.event) {
    case 'ping':
      return { kind: 'record', what: 'ping', reason: `hook ${e.hook?.id ?? '?'} pinged` };
    case 'push': {
      const branch = e.ref?.startsWith('refs/heads/') ? e.ref.slice('refs/heads/'.length) : null;
      if (branch !== null && branch === e.defaultBranch) {
        return {
          kind: 'record',
          what: 'push',
          reason: `push to default branch ${branch} at ${e.sha ?? '?'}`,
        };
      }
      return {
        kind: 'ignore',
        reason: `push to ${e.ref ?? '?'}, not the default branch ${e.defaultBranch ?? '?'}`,
      };
    }
    case 'workflow_run':
      if (e.action === 'completed') {
        return {
          kind: 'record',
          what: 'workflow_run',
          reason: `workflow ${e.workflowRun?.name ?? '?'} completed: ${e.workflowRun?.conclusion ?? 'no conclusion'}`,
        };
      }
      return { kind: 'ignore', reason: `workflow_run ${e.action ?? '?'} (only completed runs are recorded)` };
    case 'deployment_status':
      return {
        kind: 'record',
        what: 'deployment_status',
        reason: `deployment status ${e.deploymentStatus?.state ?? '?'}`,
      };
    case 'release': {
      if (e.action !== 'published')
        return { kind: 'ignore', reason: `release ${e.action ?? '?'} (only published starts a rollout)` };
      if (!e.release || !e.repo || e.repoId === null)
        return { kind: 'ignore', reason: 'release without repository' };
      return {
        kind: 'rollout-request',
        reason: `release ${e.release.tag} published`,
        request: {
          id: `release-${e.repoId}-${e.release.id}`,
          source: 'release',
          repo: e.repo,
          service: serviceFor(e.repo, settings),
          version: e.release.tag,
          sha: e.sha,
          ref: e.ref,
          environment: settings.releaseEnvironment,
          githubDeploymentId: null,
          deliveryId: e.deliveryId,
          requestedBy: e.actor,
        },
      };
    }
    case 'deployment': {
      if (e.action !== 'created') return { kind: 'ignore', reason: `deployment ${e.action ?? '?'}` };
      if (!e.deployment || !e.repo || e.repoId === null || !e.environment) {
        return { kind: 'ignore', reason: 'deployment without repository or environment' };
      }
      // The deployment fireops itself creates for a release's rollout (canary/controller.ts): not a new request.
      if (e.deployment.task === FIREOPS_DEPLOYMENT_TASK) {
        return {
          kind: 'ignore',
          reason: `deployment ${e.deployment.id} was created by fireops for a release`,
        };
      }
      if (!settings.environments.includes(e.environment)) {
        return {
          kind: 'ignore',
          reason: `environment ${e.environment} is not listed in settings/github.environments`,
        };
      }
      return {
        kind: 'rollout-request',
        reason: `deployment ${e.deployment.id} created for ${e.environment}`,
        request: {
          id: `deployment-${e.repoId}-${e.deployment.id}`,
          source: 'deployment',
          repo: e.repo,
          service: serviceFor(e.repo, settings),
          version: e.deployment.payloadVersion ?? e.ref ?? e.sha ?? String(e.deployment.id),
          sha: e.sha,
          ref: e.ref,
          environment: e.environment,
          githubDeploymentId: e.deployment.id,
          deliveryId: e.deliveryId,
          requestedBy: e.actor,
        },
      };
    }
    default:
      return { kind: 'ignore', reason: `event ${e.event} is not acted on` };
  }
}
