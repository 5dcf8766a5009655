export type OperationState =
  'INITIALIZING' | 'PROCESSING' | 'CANCELLING' | 'FINALIZING' | 'SUCCESSFUL' | 'FAILED' | 'CANCELLED';
/** google.firestore.admin.v1.Progress (the proto's field names). */
export interface Progress {
  estimatedWork: number;
  completedWork: number;
}
export interface Fault {
  next: 'fail' | 'stall' | 'shortfall';
  /** Operations still to be affected. */
  count: number;
  /** Only operations of this kind (both when undefined). */
  method: 'export' | 'import' | undefined;
  /** gRPC status code for `fail` (default 13 INTERNAL). */
  code: number;
  message: string;
  /** Documents under-reported for `shortfall`. */
  shortfall: number;
  /** Overrides the completion delay of the affected operations. */
  delayMs: number | undefined;
}
export interface OperationRecord {
  /** `projects/{p}/databases/{db}/operations/{id}` */
  name: string;
  id: string;
  kind: 'export' | 'import';
  /** `projects/{p}/databases/{db}` */
  database: string;
  /** The Firestore emulator project id the database maps to (see emulatorProjectFor). */
  emulatorProject: string;
  seq: number;
  done: boolean;
  state: OperationState;
  startMs: number;
  endMs: number | undefined;
  collectionIds: string[];
  /** outputUriPrefix (export) or inputUriPrefix (import). */
  uriPrefix: string;
  progressDocuments: Progress;
  progressBytes: Progress;
  error: { code: number; message: string } | undefined;
  fault: Fault | undefined;
  /** Per requested collection (group), or per root collection when none were requested. */
  documentsByCollection: Record<string, number> | undefined;
  /** The honest document count (before any `shortfall`). */
  documentsCounted: number | undefined;
  /** Object names written (export) or read (import), relative to the bucket. */
  files: string[] | undefined;
  bucket: string | undefined;
  cancelled: boolean;
}
export interface StandInState {
  operations: Map<string, OperationRecord>;
  faults: Fault[];
  delayMs: number;
}
/** The control API's JSON view of an operation (`GET /_stand-in/operations`). */
export interface OperationView {
  name: string;
  kind: 'export' | 'import';
  database: string;
  emulatorProject: string;
  done: boolean;
  state: OperationState;
  startTime: string;
  endTime?: string;
  collectionIds: string[];
  uriPrefix: string;
  progressDocuments: Progress;
  progressBytes: Progress;
  error?: { code: number; message: string };
  fault?: Omit<Fault, 'count'>;
  documentsCounted?: number;
  documentsByCollection?: Record<string, number>;
  files?: string[];
}
export interface StandInOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** gRPC port (0: any free port). */
  port?: number;
  /** HTTP control API port (0: any free port). */
  controlPort?: number;
  /** Folder holding one folder per bucket. */
  bucketsDir: string;
  /** The Firestore emulator `host:port`, or a function asked on every operation (default: env FIRESTORE_EMULATOR_HOST). */
  firestoreHost?: string | (() => string | undefined);
  /** Minimum run time of every operation (default 0). */
  delayMs?: number;
  /** Create a missing bucket folder on export (default true); false fails the call with INVALID_ARGUMENT. */
  createBuckets?: boolean;
}
export interface FirestoreAdminStandIn {
  host: string;
  /** gRPC port. */
  port: number;
  /** `host:port` of the gRPC server, e.g. for FIRESTORE_ADMIN_EMULATOR_HOST. */
  address: string;
  controlPort: number;
  /** e.g. 'http://127.0.0.1:9331' (routes under /_stand-in/). */
  controlUrl: string;
  bucketsDir: string;
  close(): Promise<void>;
  /** Clears operations and faults and restores the initial delay. */
  reset(): void;
  /** Resolves once no operation work is running (stalled operations do not count). */
  idle(): Promise<void>;
  state: StandInState;
}
/** `(default)` -> `project`; any other database `db` -> `${project}-${db}`. */
export function emulatorProjectFor(project: string, database: string): string;
export function startFirestoreAdminStandIn(options: StandInOptions): Promise<FirestoreAdminStandIn>;
