// The public face of mpool: exports only.
export { AsyncResult, type Callbacks } from './async-result.js';
export type {
  ApplyOptions,
  CallOptions,
  ImapOptions,
  MapOptions,
  SettledImapOptions,
  SettledMapOptions,
} from './call-options.js';
export {
  AbortError,
  CallbackError,
  InitializerError,
  NotReadyError,
  PoolStateError,
  QueueFullError,
  RedisUnavailableError,
  SerializationError,
  TaskRefusedError,
  TaskTimeoutError,
  TimeoutError,
  type WorkerEnd,
  type WorkerExit,
  WorkerLostError,
} from './errors.js';
export type { CallEvent, WorkerEvent } from './insight/channels.js';
export type { ChunkSample, PoolStats, WorkerStats } from './insight/stats.js';
export { cpuCount, type PoolOptions } from './options.js';
export { Pool, type PoolState } from './pool.js';
export type { Progress, ProgressOptions } from './progress.js';
export type { RedisConnectionOptions } from './redis/connection.js';
export { isWorker, task } from './task.js';
export { transfer } from './wire/transfer.js';
