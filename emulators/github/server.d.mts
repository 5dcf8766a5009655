export interface RepoRecord {
  id: number;
  owner: string;
  name: string;
}
export interface HookRecord {
  id: number;
  /** Lower-case `owner/repo`. */
  repoKey: string;
  url: string;
  contentType: 'json' | 'form';
  /** The current secret (in-process only; masked on every HTTP answer). */
  secret: string | null;
  insecureSsl: string;
  events: string[];
  active: boolean;
  createdAt: string;
  updatedAt: string;
  lastResponse: { code: number | null; status: string; message: string | null };
}
export interface DeliveryRecord {
  id: number;
  guid: string;
  hookId: number;
  repositoryId: number;
  deliveredAt: string;
  deliveredAtMs: number;
  redelivery: boolean;
  /** Seconds. */
  duration: number;
  /** 'OK', 'Invalid HTTP Response: NNN', 'failed to connect' or 'timed out'. */
  status: string;
  /** 0 when no HTTP response was received. */
  statusCode: number;
  event: string;
  action: string | null;
  requestHeaders: Record<string, string>;
  payload: unknown;
  rawBody: string | undefined;
  responseHeaders: Record<string, string>;
  responseBody: string | null;
  /** false for entries recorded through the control API without sending. */
  sent: boolean;
}
export interface DeploymentStatusRecord {
  id: number;
  state: string;
  description: string;
  logUrl: string;
  environmentUrl: string;
  environment: string;
  createdAt: string;
  updatedAt: string;
}
export interface DeploymentRecord {
  id: number;
  repoKey: string;
  sha: string;
  ref: string;
  task: string;
  payload: unknown;
  originalEnvironment: string;
  environment: string;
  description: string | null;
  transientEnvironment: boolean;
  productionEnvironment: boolean;
  createdAt: string;
  updatedAt: string;
  /** Oldest first. */
  statuses: DeploymentStatusRecord[];
}
export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body with any `secret` field masked, or null. */
  body: unknown;
  at: string;
  status: number | null;
  /** The Authorization scheme seen; never the token. */
  auth: 'token' | 'bearer' | null;
}
export interface Fault {
  method: string | undefined;
  path: string;
  status: number;
  body: unknown;
  headers: Record<string, string>;
  times: number;
}
export interface StandInState {
  repos: Map<string, RepoRecord>;
  hooks: Map<number, HookRecord>;
  /** Oldest first. */
  deliveries: DeliveryRecord[];
  deployments: Map<number, DeploymentRecord>;
  requests: RequestLogEntry[];
  /** Tokens presented on REST requests (in-process only; never logged or served over HTTP). */
  tokensSeen: Set<string>;
  /** When set, other tokens get 401 Bad credentials. */
  acceptTokens: string[] | null;
  faults: Fault[];
  nextId: { repo: number; hook: number; delivery: number; deployment: number; status: number };
}
export interface GitHubStandIn {
  /** e.g. 'http://127.0.0.1:41234' */
  url: string;
  port: number;
  close(): Promise<void>;
  reset(): void;
  state: StandInState;
}
export function startGitHubStandIn(options?: {
  host?: string;
  port?: number;
  /** When set, any other token gets 401 Bad credentials (default: any token is accepted). */
  acceptTokens?: string[] | null;
  /** Webhook POST time limit (default 10 000 ms, as GitHub). */
  deliveryTimeoutMs?: number;
}): Promise<GitHubStandIn>;
