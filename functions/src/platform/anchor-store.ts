// The audit anchors' bucket through @google-cloud/storage (constructed on first use). Locally STORAGE_EMULATOR_HOST
// points the real client at the stand-in in emulators/storage/, which honours retention policies as Cloud Storage.
import type { Storage } from '@google-cloud/storage';
import { TransientError } from './domain/errors';
import { ANCHOR_PREFIX } from './domain/audit-anchor';
import { projectId } from './firestore';

/** What anchoring and verification need of the bucket (an interface so unit tests can pass their own). */
export interface AnchorStore {
  readonly bucket: string;
  /** Creates `name`; refused (never overwrites) when it exists. */
  create(name: string, bytes: Buffer): Promise<void>;
  read(name: string): Promise<Buffer | undefined>;
  /** Anchor names after `after` (exclusive; from the first when undefined), in name order, at most `max`. */
  listAfter(after: string | undefined, max: number): Promise<string[]>;
}

let storage: Storage | undefined;
function gcs(): Storage {
  if (!storage) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (cold start)
    const { Storage: Client } = require('@google-cloud/storage') as typeof import('@google-cloud/storage');
    storage = new Client({ projectId: projectId() });
  }
  return storage;
}

const transient = (what: string, err: unknown) =>
  new TransientError(`${what}: ${(err as Error).message}`, { cause: err });

export class CloudStorageAnchorStore implements AnchorStore {
  constructor(readonly bucket: string) {}

  async create(name: string, bytes: Buffer): Promise<void> {
    try {
      // ifGenerationMatch 0: only if no object has that name (the retention lock refuses overwrites anyway).
      await gcs()
        .bucket(this.bucket)
        .file(name)
        .save(bytes, {
          resumable: false,
          contentType: 'application/json',
          preconditionOpts: { ifGenerationMatch: 0 },
        });
    } catch (err) {
      throw transient(`gs://${this.bucket}/${name} could not be written`, err);
    }
  }

  async read(name: string): Promise<Buffer | undefined> {
    try {
      const [bytes] = await gcs().bucket(this.bucket).file(name).download();
      return bytes;
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return undefined;
      throw transient(`gs://${this.bucket}/${name} could not be read`, err);
    }
  }

  async listAfter(after: string | undefined, max: number): Promise<string[]> {
    try {
      // startOffset is inclusive; ask for one more and drop `after` itself.
      const [files] = await gcs()
        .bucket(this.bucket)
        .getFiles({
          prefix: ANCHOR_PREFIX,
          ...(after ? { startOffset: after } : {}),
          maxResults: max + 1,
          autoPaginate: false,
        });
      return files
        .map((f) => f.name)
        .filter((n) => n !== after)
        .slice(0, max);
    } catch (err) {
      throw transient(`anchors of gs://${this.bucket} could not be listed`, err);
    }
  }
}
