export interface StorageStandInState {
  /** Metadata given at upload (contentType, custom metadata), by `bucket/name`, kept while the file is unchanged. */
  uploaded: Map<string, { contentType?: string; metadata?: Record<string, string>; generation: string }>;
  /** Request log, newest last (at most 1000 entries). */
  requests: Array<{ method: string; path: string; status: number }>;
}
export interface StorageStandIn {
  /** e.g. 'http://127.0.0.1:9332': the value for STORAGE_EMULATOR_HOST. */
  url: string;
  port: number;
  bucketsDir: string;
  close(): Promise<void>;
  /** Forgets upload metadata and the request log (the folder tree is left alone). */
  reset(): void;
  state: StorageStandInState;
}
export function startStorageStandIn(options: {
  host?: string;
  /** 0: any free port. */
  port?: number;
  /** Folder holding one folder per bucket; object `a/b` of bucket `x` is the file `{bucketsDir}/x/a/b`. */
  bucketsDir: string;
}): Promise<StorageStandIn>;
