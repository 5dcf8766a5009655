// A validated GitHub payload as the normalized event fireops publishes on `ops-events`. The payload was checked
// by the event's zod schema (webhooks/schema.ts) before it gets here; these types mirror the fields it uses.
import type { OpsEvent } from './routing';

interface Repo {
  id: number;
  full_name: string;
  default_branch?: string | undefined;
}
export interface GithubPayload {
  action?: string | undefined;
  repository?: Repo | undefined;
  sender?: { login: string } | undefined;
  ref?: string;
  after?: string;
  pusher?: { name: string };
  hook?: {
    id: number;
    type: string;
    active: boolean;
    events: string[];
    config: { url?: string | undefined; content_type?: string | undefined };
  };
  release?: {
    id: number;
    tag_name: string;
    name: string | null;
    target_commitish: string;
    prerelease: boolean;
  };
  deployment?: {
    id: number;
    sha: string;
    ref: string;
    task?: string;
    environment: string;
    payload?: unknown;
  };
  deployment_status?: { id: number; state: string; environment?: string | undefined };
  workflow_run?: {
    id: number;
    name: string | null;
    head_branch: string | null;
    head_sha: string;
    status: string | null;
    conclusion: string | null;
  };
}

function payloadVersion(payload: unknown): string | null {
  if (payload && typeof payload === 'object' && 'version' in payload) {
    const v = payload.version;
    if (typeof v === 'string' && v.length > 0 && v.length <= 200) return v;
  }
  return null;
}

export function normalizeEvent(
  event: string,
  deliveryId: string,
  p: GithubPayload,
  receivedAtMs: number,
): OpsEvent {
  const action = p.action ?? null;
  const dep = p.deployment;
  const run = p.workflow_run;
  let ref: string | null = null;
  let sha: string | null = null;
  if (event === 'push') {
    ref = p.ref ?? null;
    sha = p.after ?? null;
  } else if (dep) {
    ref = dep.ref;
    sha = dep.sha;
  } else if (run) {
    ref = run.head_branch;
    sha = run.head_sha;
  } else if (p.release) {
    ref = p.release.target_commitish;
    // A release names a branch or a commit; only a full hex id is a sha.
    sha = /^[0-9a-f]{40}$/.test(p.release.target_commitish) ? p.release.target_commitish : null;
  }
  return {
    type: action ? `${event}.${action}` : event,
    deliveryId,
    event,
    action,
    repo: p.repository?.full_name ?? null,
    repoId: p.repository?.id ?? null,
    defaultBranch: p.repository?.default_branch ?? null,
    ref,
    sha,
    environment: p.deployment_status?.environment ?? dep?.environment ?? null,
    release: p.release
      ? { id: p.release.id, tag: p.release.tag_name, name: p.release.name, prerelease: p.release.prerelease }
      : null,
    deployment:
      dep && event === 'deployment'
        ? { id: dep.id, task: dep.task ?? 'deploy', payloadVersion: payloadVersion(dep.payload) }
        : null,
    workflowRun: run ? { id: run.id, name: run.name, status: run.status, conclusion: run.conclusion } : null,
    deploymentStatus: p.deployment_status
      ? { id: p.deployment_status.id, state: p.deployment_status.state }
      : null,
    hook: p.hook
      ? {
          id: p.hook.id,
          type: p.hook.type,
          active: p.hook.active,
          events: p.hook.events,
          url: p.hook.config.url ?? null,
          contentType: p.hook.config.content_type ?? null,
        }
      : null,
    actor: p.sender?.login ?? p.pusher?.name ?? null,
    receivedAtMs,
  };
}
