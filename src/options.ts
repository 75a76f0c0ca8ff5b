// resolveOptions(): the one place that validates options and fills in defaults.
import { availableParallelism, totalmem } from 'node:os';
import { findTooDeep, TOO_DEEP } from './depth.js';
import { received } from './errors.js';
import type { ExecutorConfig } from './executor.js';
import {
  type RedisConnectionOptions,
  type ResolvedConnection,
  resolveConnection,
} from './redis/connection.js';
import { toFnRef } from './task.js';

export { received };

/** The number of CPUs this process may use (Python's `os.process_cpu_count()`). */
export function cpuCount(): number {
  return availableParallelism();
}

const WORKERS_PER_CPU = 128;
const MIB_PER_WORKER = 32;

/**
 * The most workers a local pool starts unless MPOOL_MAX_PROCESSES says otherwise: far more than any
 * CPU-bound or I/O-bound use wants, yet few enough that a typo (`1e6`) fails at once instead of filling memory
 * one thread at a time. `why` says how the number was reached, for the error message.
 */
export function maxProcesses(): { limit: number; why: string } {
  const env = process.env.MPOOL_MAX_PROCESSES;
  if (env !== undefined && env !== '') {
    const limit = Number(env);
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`Expected MPOOL_MAX_PROCESSES to be an integer >= 1, got ${received(env)}`);
    }
    return { limit, why: 'set by MPOOL_MAX_PROCESSES' };
  }
  const cpus = cpuCount();
  const mib = Math.floor(totalmem() / 2 ** 20);
  const byCpu = cpus * WORKERS_PER_CPU;
  const byMemory = Math.floor(mib / MIB_PER_WORKER);
  const limit = Math.max(cpus, Math.min(byCpu, byMemory));
  const why =
    limit === byCpu
      ? `${WORKERS_PER_CPU} per CPU, ${cpus} CPUs`
      : `one per ${MIB_PER_WORKER} MiB of this machine's ${mib} MiB of memory`;
  return { limit, why };
}

function processes(value: unknown): number {
  const size = integer('processes', value, 1);
  const { limit, why } = maxProcesses();
  if (size > limit) {
    throw new RangeError(
      `Expected \`processes\` to be an integer from 1 to ${limit} (${why}), got ${received(value)}. ` +
        'To start more workers on purpose, set the environment variable MPOOL_MAX_PROCESSES to the number you need.',
    );
  }
  return size;
}

export interface PoolOptions {
  /**
   * Workers kept when idle: the pool starts with these, grows up to `processes` while work waits, and stops
   * workers beyond them once idle for `idleTimeout`. @default processes (a fixed size, as Python's Pool)
   */
  minProcesses?: number;
  /** Milliseconds a worker beyond `minProcesses` may stay idle before it is stopped. @default 10000 */
  idleTimeout?: number;
  /**
   * Number of workers. At most 128 per CPU and one per 32 MiB of memory, unless the environment variable
   * MPOOL_MAX_PROCESSES sets another limit. @default cpuCount()
   */
  processes?: number;
  /** Runs once in every worker, replacements included, before its first task. @default undefined */
  initializer?: (...args: any[]) => unknown;
  /** Arguments for `initializer`. @default [] */
  initargs?: unknown[];
  /** Replace a worker after it has run this many tasks (chunks). @default undefined (never) */
  maxtasksperchild?: number | null;
  /** Where tasks run: worker threads or child processes. @default 'thread' */
  context?: 'thread' | 'process';
  /** Milliseconds a task (chunk) may run once started before its worker is stopped. @default undefined (no limit) */
  timeout?: number;
  /** How many times a task whose worker died is run again. Functions must be idempotent. @default 0 */
  retries?: number;
  /** Heap limit of each worker in MiB; a worker that exceeds it dies and is replaced. @default undefined (Node's) */
  maxHeapMb?: number;
  /**
   * Runs tasks on worker nodes (`mpool worker`) over Redis with BullMQ instead of on this machine: a `redis://`
   * or `rediss://` URL, or connection options. With it, `processes` is the number of chunks to size work for:
   * set it to the nodes' total `--processes`. @default undefined (run locally)
   */
  redis?: string | RedisConnectionOptions;
  /** The BullMQ queue the worker nodes listen on. Only with `redis`. @default 'mpool' */
  queue?: string;
  /** Shared secret (16+ characters) that signs inline functions for nodes started with `--allow-inline`. Only with `redis`. @default process.env.MPOOL_SECRET */
  secret?: string;
  /** Largest encoded task or result, in bytes; nodes enforce their own cap too. Only with `redis`. @default 8388608 (8 MiB) */
  maxPayloadBytes?: number;
  /** Milliseconds Redis may stay unreachable before the pool fails with RedisUnavailableError. Only with `redis`. @default 30000 */
  redisTimeout?: number;
  /**
   * Most tasks (chunks) that may wait for a worker. An `apply` past it rejects at once with QueueFullError; a
   * map or imap waits for room instead. `await pool.ready()` waits until there is room. @default Infinity
   */
  maxQueue?: number;
}

/** The Redis side of a pool's options, resolved. */
export interface ResolvedRedisOptions {
  connection: ResolvedConnection;
  queue: string;
  secret: string | null;
  maxPayloadBytes: number;
  redisTimeout: number;
}

export interface ResolvedPoolOptions {
  context: 'thread' | 'process';
  timeout: number | null;
  retries: number;
  executor: ExecutorConfig;
  /** Set when tasks run on worker nodes over Redis. */
  redis: ResolvedRedisOptions | null;
  /** Infinity when unbounded. */
  maxQueue: number;
}

function integer(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    const what = `Expected \`${name}\` to be an integer >= ${min}, got ${received(value)}`;
    throw typeof value === 'number' ? new RangeError(what) : new TypeError(what);
  }
  return value;
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0)) {
    const what = `Expected \`${name}\` to be a number of milliseconds > 0, got ${received(value)}`;
    throw typeof value === 'number' ? new RangeError(what) : new TypeError(what);
  }
  return value;
}

/** Per-call limits, shared by the pool options and every call's options. */
export function resolveLimits(
  options: { timeout?: number | undefined; retries?: number | undefined },
  fallback: { timeout: number | null; retries: number },
): { timeout: number | null; retries: number } {
  return {
    timeout:
      options.timeout === undefined
        ? fallback.timeout
        : options.timeout === Number.POSITIVE_INFINITY
          ? null // no limit, like leaving it out: a call can lift the pool's limit this way
          : positive('timeout', options.timeout),
    retries: options.retries === undefined ? fallback.retries : integer('retries', options.retries, 0),
  };
}

const KNOWN = new Set([
  'processes',
  'initializer',
  'initargs',
  'maxtasksperchild',
  'context',
  'timeout',
  'retries',
  'maxHeapMb',
  'redis',
  'queue',
  'secret',
  'maxPayloadBytes',
  'redisTimeout',
  'maxQueue',
  'minProcesses',
  'idleTimeout',
]);

const REDIS_ONLY = ['queue', 'secret', 'maxPayloadBytes', 'redisTimeout'] as const;
const LOCAL_ONLY = [
  'initializer',
  'initargs',
  'maxtasksperchild',
  'context',
  'maxHeapMb',
  'minProcesses',
  'idleTimeout',
] as const;

/** Validates a secret used to sign inline functions: long enough that it cannot be guessed. */
export function resolveSecret(secret: unknown, what: string): string {
  if (typeof secret !== 'string' || secret.length < 16) {
    const shown = typeof secret === 'string' ? `a ${secret.length}-character string` : received(secret);
    throw new TypeError(`Expected ${what} to be a secret of at least 16 characters, got ${shown}`);
  }
  return secret;
}

function resolveRedis(options: PoolOptions): ResolvedRedisOptions | null {
  if (options.redis === undefined) {
    for (const key of REDIS_ONLY) {
      if (options[key] !== undefined)
        throw new TypeError(
          `Pool option \`${key}\` only applies with \`redis\`; set \`redis\` too, or drop it.`,
        );
    }
    return null;
  }
  for (const key of LOCAL_ONLY) {
    if (options[key] !== undefined) {
      throw new TypeError(
        `Pool option \`${key}\` does not apply with \`redis\`: worker nodes run their own local pools (see \`mpool worker --help\`).`,
      );
    }
  }
  const { queue = 'mpool', secret = process.env.MPOOL_SECRET, maxPayloadBytes, redisTimeout } = options;
  if (typeof queue !== 'string' || queue === '' || queue.includes(':')) {
    throw new TypeError(`Expected \`queue\` to be a non-empty name without \`:\`, got ${received(queue)}`);
  }
  return {
    connection: resolveConnection(options.redis),
    queue,
    secret:
      secret === undefined || secret === '' ? null : resolveSecret(secret, '`secret` (or MPOOL_SECRET)'),
    maxPayloadBytes:
      maxPayloadBytes === undefined ? 8 * 1024 * 1024 : integer('maxPayloadBytes', maxPayloadBytes, 1024),
    redisTimeout: redisTimeout === undefined ? 30_000 : positive('redisTimeout', redisTimeout),
  };
}

export function resolveOptions(options: PoolOptions | number = {}): ResolvedPoolOptions {
  // Python's Pool(4): the number of workers alone.
  if (typeof options === 'number') return resolveOptions({ processes: options });
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `Expected pool options to be an object or a number of processes, got ${received(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new TypeError(`Unknown pool option \`${key}\`. Known options: ${[...KNOWN].join(', ')}`);
    }
  }
  const { maxtasksperchild, initializer, initargs = [], context = 'thread', maxHeapMb } = options;
  if (initializer !== undefined && typeof initializer !== 'function') {
    throw new TypeError(`Expected \`initializer\` to be a function, got ${received(initializer)}`);
  }
  if (!Array.isArray(initargs)) {
    throw new TypeError(`Expected \`initargs\` to be an array, got ${received(initargs)}`);
  }
  // Sent to every worker that starts: one no worker could read would fail every start, so refuse it here.
  const deep = findTooDeep(initargs);
  if (deep >= 0) {
    throw new RangeError(
      `Expected \`initargs\` to be values a worker can receive, got initargs[${deep}]: ${TOO_DEEP}`,
    );
  }
  if (context !== 'thread' && context !== 'process') {
    throw new TypeError(`Expected \`context\` to be 'thread' or 'process', got ${received(context)}`);
  }
  const redis = resolveRedis(options);
  // With redis, `processes` only sizes chunks for the worker nodes: it starts nothing here.
  const size =
    options.processes === undefined
      ? cpuCount()
      : redis
        ? integer('processes', options.processes, 1)
        : processes(options.processes);
  const { maxQueue } = options;
  return {
    context,
    redis,
    maxQueue:
      maxQueue === undefined || maxQueue === Number.POSITIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : integer('maxQueue', maxQueue, 0),
    ...resolveLimits(options, { timeout: null, retries: 0 }),
    executor: {
      size,
      minSize: options.minProcesses === undefined ? size : minProcesses(options.minProcesses, size),
      idleTimeout: options.idleTimeout === undefined ? 10_000 : positive('idleTimeout', options.idleTimeout),
      initializer: initializer === undefined ? null : toFnRef(initializer, 'initializer'),
      initargs,
      maxtasksperchild:
        maxtasksperchild === undefined || maxtasksperchild === null
          ? null
          : integer('maxtasksperchild', maxtasksperchild, 1),
      maxHeapMb: maxHeapMb === undefined ? null : integer('maxHeapMb', maxHeapMb, 16),
    },
  };
}

function minProcesses(value: unknown, size: number): number {
  const min = integer('minProcesses', value, 0);
  if (min > size) {
    throw new RangeError(
      `Expected \`minProcesses\` to be at most \`processes\` (${size}), got ${received(min)}`,
    );
  }
  return min;
}

/** Validates a chunksize: Python silently returns Nones below 1; mpool refuses. */
export function resolveChunksize(chunksize: unknown): number | undefined {
  if (chunksize === undefined || chunksize === null) return undefined;
  return integer('chunksize', chunksize, 1);
}
