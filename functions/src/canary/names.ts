// The canary's audit streams, in a module of their own so commands.ts (loaded at cold start with the trigger
// wiring) can name them without loading the controller.
import { shardedStream, streamShards } from '../platform/domain/audit-chain';

/**
 * Ticks fan out per service (one canary-kick each, every minute), so one `canary` head would take every service's
 * transitions at the same second: the stream is cut into 8 shards by service (`canary-0` .. `canary-7`), and a
 * rollout's entries stay in its service's shard, in order.
 */
export const CANARY_STREAM_SHARDS = 8;
export const canaryStream = (service: string): string =>
  shardedStream('canary', service, CANARY_STREAM_SHARDS);
export const CANARY_STREAMS: readonly string[] = streamShards('canary', CANARY_STREAM_SHARDS);
