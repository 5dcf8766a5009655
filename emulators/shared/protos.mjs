// @ts-check
/**
 * Loads the protos a Google Cloud client package ships, for the gRPC stand-ins to serve the services the real client
 * talks to.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import protoLoader from '@grpc/proto-loader';

/**
 * Loads `files` from the client package's `build/protos`, with the common protos (google/api, google/iam, google/rpc,
 * google/protobuf, google/longrunning...) from the package's own google-gax.
 *
 * @param {string} packageJsonPath Resolved path of the client package's package.json, e.g.
 *   `require.resolve('@google-cloud/secret-manager/package.json')`.
 * @param {string | string[]} files Proto files relative to the include folders.
 * @param {{ longs: StringConstructor | NumberConstructor }} options How 64-bit integers are represented.
 * @returns {protoLoader.PackageDefinition}
 */
export function loadClientProtos(packageJsonPath, files, { longs }) {
  const protos = path.join(path.dirname(packageJsonPath), 'build', 'protos');
  // google-gax (a dependency of the client) ships the common protos.
  const gaxIndex = createRequire(packageJsonPath).resolve('google-gax');
  const gaxProtos = path.resolve(path.dirname(gaxIndex), '..', 'protos');
  return protoLoader.loadSync(files, {
    keepCase: false,
    longs,
    enums: String,
    // defaults: false keeps field presence visible (absent message/optional fields stay undefined).
    defaults: false,
    oneofs: true,
    includeDirs: [protos, gaxProtos],
  });
}
