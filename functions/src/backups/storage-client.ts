// The Cloud Storage side of backups: listing and deleting one export's objects, through @google-cloud/storage
// (constructed on first use). Locally STORAGE_EMULATOR_HOST points the real client at the JSON API stand-in in
// emulators/storage/, which serves the folder the Firestore Admin stand-in exports into.
import type { Storage } from '@google-cloud/storage';
import { TransientError } from '../platform/domain/errors';
import { projectId } from '../platform/firestore';

/** What retention needs of Cloud Storage (an interface so the engine's tests can count calls). */
export interface ObjectStore {
  /** Object names under `gs://bucket/path/` (the export's folder). */
  list(outputUriPrefix: string): Promise<string[]>;
  /** Deletes every object of one export; returns how many were deleted. */
  deleteExport(outputUriPrefix: string): Promise<number>;
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

/** `gs://bucket/a/b` -> { bucket, folder: 'a/b/' } (the trailing slash keeps `.../020000` from matching `0200001`). */
export function splitUri(uri: string): { bucket: string; folder: string } {
  const m = /^gs:\/\/([^/]+)\/(.+?)\/?$/.exec(uri);
  if (!m) throw new Error(`'${uri}' is not a gs://bucket/path URI`);
  return { bucket: m[1]!, folder: `${m[2]!}/` };
}

export class CloudStorageObjectStore implements ObjectStore {
  async list(outputUriPrefix: string): Promise<string[]> {
    const { bucket, folder } = splitUri(outputUriPrefix);
    try {
      const [files] = await gcs().bucket(bucket).getFiles({ prefix: folder, autoPaginate: true });
      return files.map((f) => f.name);
    } catch (err) {
      throw new TransientError(
        `objects of ${outputUriPrefix} could not be listed: ${(err as Error).message}`,
      );
    }
  }

  async deleteExport(outputUriPrefix: string): Promise<number> {
    const { bucket } = splitUri(outputUriPrefix);
    const names = await this.list(outputUriPrefix);
    const b = gcs().bucket(bucket);
    let deleted = 0;
    // A few at a time: an export is a handful of objects per collection group and namespace.
    for (let i = 0; i < names.length; i += 8) {
      await Promise.all(
        names.slice(i, i + 8).map(async (name) => {
          try {
            await b.file(name).delete({ ignoreNotFound: true });
            deleted += 1;
          } catch (err) {
            throw new TransientError(
              `gs://${bucket}/${name} could not be deleted: ${(err as Error).message}`,
            );
          }
        }),
      );
    }
    return deleted;
  }
}
