// @ts-check
/**
 * What the gRPC stand-ins (Secret Manager, Firestore Admin, Cloud Run) share: the error a handler throws to answer
 * a status code, the unary-handler table built from a service's methods, and binding a port.
 */
import grpc from '@grpc/grpc-js';
import { hostForAddress } from './servers.mjs';

/** Thrown by a method implementation to answer the call with `code` and `message` (the status details). */
export class RpcError extends Error {
  /** @param {grpc.status} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** @param {string} message */
export const invalidArgument = (message) => new RpcError(grpc.status.INVALID_ARGUMENT, message);
/** @param {string} message */
export const notFound = (message) => new RpcError(grpc.status.NOT_FOUND, message);
/** @param {string} message */
export const failedPrecondition = (message) => new RpcError(grpc.status.FAILED_PRECONDITION, message);

/**
 * A `google.protobuf.Timestamp` of a time in milliseconds since the epoch.
 * @param {number} ms
 * @returns {{ seconds: number, nanos: number }}
 */
export function msToTimestamp(ms) {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/**
 * @typedef {(request: any, metadata: grpc.Metadata) => unknown} MethodImpl A unary method: the request (and the
 *   call's metadata) in, the reply (or its promise) out.
 */

/**
 * Handlers for every method of `definition`: those in `impl` answer with what they return (an `RpcError` they throw
 * answers its code; anything else is logged and answers INTERNAL), the rest answer UNIMPLEMENTED.
 *
 * @param {grpc.ServiceDefinition} definition
 * @param {Record<string, MethodImpl>} impl Method name (as in the proto, e.g. `GetSecret`) -> implementation.
 * @param {{ service: string, label: string, before?: (method: string, request: any, metadata: grpc.Metadata) => void | Promise<void> }} options
 *   `service`: the full service name, for messages; `label`: who answers, e.g. `Cloud Run stand-in`; `before`:
 *   called as each call arrives, before its implementation (awaited; an `RpcError` it throws answers the call).
 * @returns {grpc.UntypedServiceImplementation}
 */
export function unaryHandlers(definition, impl, { service, label, before }) {
  /** @type {grpc.UntypedServiceImplementation} */
  const handlers = {};
  for (const method of Object.keys(definition)) {
    const fn = Object.hasOwn(impl, method) ? impl[method] : undefined;
    /** @type {grpc.handleUnaryCall<any, any>} */
    const handler = (call, callback) => {
      if (!fn) {
        callback({
          code: grpc.status.UNIMPLEMENTED,
          details: `${service}.${method} is not implemented by the ${label}.`,
        });
        return;
      }
      Promise.resolve()
        .then(() => before?.(method, call.request, call.metadata))
        .then(() => fn(call.request, call.metadata))
        .then(
          (reply) => callback(null, reply),
          (err) => {
            if (err instanceof RpcError) {
              callback({ code: err.code, details: err.message });
              return;
            }
            console.error(`[${label}] ${service}.${method} failed:`, err);
            callback({
              code: grpc.status.INTERNAL,
              details: err instanceof Error ? err.message : String(err),
            });
          },
        );
    };
    handlers[method] = handler;
  }
  return handlers;
}

/**
 * Binds `server` to `host:port` without TLS (0 picks a free port) and resolves with the port bound.
 * @param {grpc.Server} server
 * @param {string} host
 * @param {number} port
 * @returns {Promise<number>}
 */
export function bindInsecure(server, host, port) {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${hostForAddress(host)}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
}

/**
 * Shuts `server` down, forcing it after 2 s.
 * @param {grpc.Server} server
 * @returns {Promise<void>}
 */
export function shutdownGrpc(server) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.forceShutdown(), 2000);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Closes the HTTP control server (dropping kept-alive connections), then the gRPC server, forcing it after 2 s.
 * @param {grpc.Server} grpcServer
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
