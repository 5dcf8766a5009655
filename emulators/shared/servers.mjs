// @ts-check
// What every stand-in does with its servers: listen on a port (0 picks a free one) and learn the bound port, and
// shut a gRPC server and its HTTP control server down.
import { shutdownGrpc } from './grpc.mjs';

/**
 * Listens and resolves with the port actually bound.
 * @param {import('node:http').Server} server
 * @param {number} port
 * @param {string} host
 * @returns {Promise<number>}
 */
export async function listenHttp(server, port, host) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(undefined);
    });
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}

/**
 * Closes the HTTP control server (dropping kept-alive connections), then the gRPC server, forcing it after 2 s.
 * @param {import('@grpc/grpc-js').Server} grpcServer
 * @param {import('node:http').Server} controlServer
 * @returns {Promise<void>}
 */
export async function closeGrpcWithControl(grpcServer, controlServer) {
  await new Promise((resolve) => {
    controlServer.close(() => resolve(undefined));
    controlServer.closeAllConnections();
  });
  await shutdownGrpc(grpcServer);
}
