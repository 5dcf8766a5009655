/** One entry of `traffic` / `trafficStatuses` as the stand-in keeps it (short revision names). */
export interface Target {
  type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' | 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' | string;
  /** Short revision name; empty for LATEST in `traffic`, resolved to the latest revision in `trafficStatuses`. */
  revision: string;
  percent: number;
  tag: string;
}
export interface ServiceRecord {
  /** `projects/{p}/locations/{l}/services/{s}` */
  name: string;
  uid: string;
  generation: number;
  observedGeneration: number;
  createMs: number;
  updateMs: number;
  /** Short revision names, oldest first; the last is the latest ready and created revision. */
  revisions: string[];
  /** The desired split (spec). */
  traffic: Target[];
  /** The split being served (set when an update operation completes). */
  trafficStatuses: Target[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  description: string;
  template: unknown;
  reconciling: boolean;
  terminalCondition: { type: string; state: string; message: string; ms: number } | undefined;
}
export interface Fault {
  /** `fail`: the operation ends with an error, the service is left as it was; `unavailable`: the call fails. */
  next: 'fail' | 'unavailable';
  count: number;
  /** gRPC code (operation error for `fail`, default 13; call status for `unavailable`, default 14). */
  code: number;
  message: string;
}
export interface OperationRecord {
  name: string;
  service: string;
  done: boolean;
  error: { code: number; message: string } | undefined;
  seq: number;
}
export interface StandInState {
  services: Map<string, ServiceRecord>;
  operations: Map<string, OperationRecord>;
  faults: Fault[];
  delayMs: number;
  /** Every UpdateService call that reached the stand-in: 'succeeded' | 'failed' | 'unavailable' | 'validated'. */
  updates: { service: string; traffic: Target[]; outcome: string }[];
}
/** What `POST /_stand-in/services` takes. */
export interface SeedService {
  name: string;
  revisions: string[];
  /** `type` defaults to REVISION when `revision` is set, else LATEST; empty: 100% LATEST. */
  traffic?: { revision?: string; percent: number; tag?: string; type?: string }[];
  labels?: Record<string, string>;
  description?: string;
  template?: unknown;
}
export interface StandInOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** gRPC port (0: any free port). */
  port?: number;
  /** HTTP control API port (0: any free port). */
  controlPort?: number;
  /** Run time of an UpdateService operation (default 50 ms). */
  delayMs?: number;
}
export interface CloudRunStandIn {
  host: string;
  port: number;
  /** `host:port` of the gRPC server, for CLOUD_RUN_EMULATOR_HOST. */
  address: string;
  controlPort: number;
  /** e.g. 'http://127.0.0.1:9336' (routes under /_stand-in/). */
  controlUrl: string;
  close(): Promise<void>;
  /** Forgets services, operations, faults and recorded updates; restores the initial delay. */
  reset(): void;
  /** Seeds or replaces a service; returns it as a google.cloud.run.v2.Service object. */
  seedService(body: SeedService): Record<string, unknown>;
  state: StandInState;
}
export function startCloudRunStandIn(options?: StandInOptions): Promise<CloudRunStandIn>;
