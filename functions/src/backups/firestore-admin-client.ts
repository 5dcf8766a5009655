// Firestore's managed export and import (the v1 FirestoreAdminClient from @google-cloud/firestore), constructed on
// first use. Locally FIRESTORE_ADMIN_EMULATOR_HOST (host:port) points the real client at the gRPC stand-in in
// emulators/firestore-admin/, which performs real exports through the Firestore emulator.
import type { v1 } from '@google-cloud/firestore';
import type { OperationStatus } from './domain/backup';
import { TransientError, ValidationError } from '../platform/domain/errors';
import { projectId } from '../platform/firestore';
import { emulatorClientOptions } from '../platform/secret-manager';

type AdminClient = InstanceType<typeof v1.FirestoreAdminClient>;

/** What the backup engine needs of Firestore's admin API (an interface so tests can count calls). */
export interface ExportApi {
  startExport(req: { database: string; outputUriPrefix: string; collectionIds: string[] }): Promise<string>;
  exportStatus(operationName: string): Promise<OperationStatus>;
  /** Running or finished export operations writing to `outputUriPrefix` (recovery after a crash). */
  findExport(outputUriPrefix: string, database: string): Promise<string | undefined>;
  startImport(req: { database: string; inputUriPrefix: string; collectionIds: string[] }): Promise<string>;
  importStatus(operationName: string): Promise<OperationStatus>;
}

let client: AdminClient | undefined;

function admin(env: NodeJS.ProcessEnv = process.env): AdminClient {
  if (!client) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (cold start)
    const { v1: api } = require('@google-cloud/firestore') as typeof import('@google-cloud/firestore');
    client = new api.FirestoreAdminClient({
      projectId: projectId(env),
      ...emulatorClientOptions(env.FIRESTORE_ADMIN_EMULATOR_HOST),
    });
  }
  return client;
}

export function databaseName(database: string, project = projectId()): string {
  return `projects/${project}/databases/${database}`;
}

/** protobufjs numbers arrive as number, string or Long. */
function num(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (typeof (v as { toNumber?: unknown }).toNumber === 'function')
    return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

function tsMs(t: { seconds?: unknown; nanos?: unknown } | null | undefined): number | undefined {
  if (!t) return undefined;
  return num(t.seconds) * 1000 + Math.floor(num(t.nanos) / 1e6);
}

interface LroMetadata {
  startTime?: { seconds?: unknown; nanos?: unknown } | null;
  endTime?: { seconds?: unknown; nanos?: unknown } | null;
  progressDocuments?: { completedWork?: unknown } | null;
  progressBytes?: { completedWork?: unknown } | null;
  outputUriPrefix?: string | null;
}

function statusOf(op: {
  done?: boolean | null;
  error?: { code?: number | null; message?: string | null } | null;
  metadata?: unknown;
}): OperationStatus {
  const meta = (op.metadata ?? {}) as LroMetadata;
  return {
    done: Boolean(op.done),
    ...(op.error
      ? { error: { code: op.error.code ?? 2, message: op.error.message ?? 'unknown error' } }
      : {}),
    progressDocuments: num(meta.progressDocuments?.completedWork),
    progressBytes: num(meta.progressBytes?.completedWork),
    startTimeMs: tsMs(meta.startTime),
    endTimeMs: tsMs(meta.endTime),
  };
}

/**
 * gRPC codes a retry cannot fix: the request is wrong. PERMISSION_DENIED and UNAUTHENTICATED are not among them:
 * a missing grant is fixed by an operator and the next run succeeds (issue 12.4, platform/domain/errors.ts).
 */
const PERMANENT = new Set([3, 5, 9]); // INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION

function adminError(err: unknown, what: string): Error {
  const code = (err as { code?: number }).code;
  const message = `${what}: ${(err as Error).message}`;
  return code !== undefined && PERMANENT.has(code)
    ? new ValidationError(message)
    : new TransientError(message, { cause: err });
}

export class FirestoreAdminExportApi implements ExportApi {
  async startExport(req: { database: string; outputUriPrefix: string; collectionIds: string[] }) {
    try {
      const [op] = await admin().exportDocuments({
        name: databaseName(req.database),
        outputUriPrefix: req.outputUriPrefix,
        collectionIds: req.collectionIds,
      });
      return op.name!;
    } catch (err) {
      throw adminError(err, `export to ${req.outputUriPrefix} could not start`);
    }
  }

  async exportStatus(operationName: string) {
    try {
      return statusOf(await admin().checkExportDocumentsProgress(operationName));
    } catch (err) {
      throw adminError(err, `export operation ${operationName} could not be read`);
    }
  }

  async findExport(outputUriPrefix: string, database: string) {
    try {
      // Typed as the raw response, but gax pages it into [operations, nextRequest, response] (autoPaginate).
      const res: unknown = await admin().operationsClient.listOperations({
        name: databaseName(database),
        filter: '',
      } as never);
      const ops: unknown =
        (Array.isArray(res) ? (res as unknown[])[0] : (res as { operations?: unknown[] }).operations) ?? [];
      for (const raw of ops as { name?: string }[]) {
        if (!raw.name) continue;
        const op = await admin()
          .checkExportDocumentsProgress(raw.name)
          .catch(() => undefined);
        if ((op?.metadata as LroMetadata | undefined)?.outputUriPrefix === outputUriPrefix) return raw.name;
      }
      return undefined;
    } catch (err) {
      throw adminError(err, `operations of ${database} could not be listed`);
    }
  }

  async startImport(req: { database: string; inputUriPrefix: string; collectionIds: string[] }) {
    try {
      const [op] = await admin().importDocuments({
        name: databaseName(req.database),
        inputUriPrefix: req.inputUriPrefix,
        collectionIds: req.collectionIds,
      });
      return op.name!;
    } catch (err) {
      throw adminError(err, `import from ${req.inputUriPrefix} could not start`);
    }
  }

  async importStatus(operationName: string) {
    try {
      return statusOf(await admin().checkImportDocumentsProgress(operationName));
    } catch (err) {
      throw adminError(err, `import operation ${operationName} could not be read`);
    }
  }
}
