// resolveOptions(): the one place that validates options and fills in defaults.
import { availableParallelism } from 'node:os';
import type { ExecutorConfig } from './executor.js';
import { toFnRef } from './task.js';

/** The number of CPUs this process may use (Python's `os.process_cpu_count()`). */
export function cpuCount(): number {
  return availableParallelism();
}

export interface PoolOptions {
  /** Number of workers. @default cpuCount() */
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
}

export interface ResolvedPoolOptions {
  context: 'thread' | 'process';
  timeout: number | null;
  retries: number;
  executor: ExecutorConfig;
}

/** Formats a received value for an error message: `0` (number). */
export function received(value: unknown): string {
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown}\` (${type})`;
}

function integer(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    const what = `Expected \`${name}\` to be an integer >= ${min}, got ${received(value)}`;
    throw typeof value === 'number' ? new RangeError(what) : new TypeError(what);
  }
  return value;
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    const what = `Expected \`${name}\` to be a finite number of milliseconds > 0, got ${received(value)}`;
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
    timeout: options.timeout === undefined ? fallback.timeout : positive('timeout', options.timeout),
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
]);

export function resolveOptions(options: PoolOptions = {}): ResolvedPoolOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Expected pool options to be an object, got ${received(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new TypeError(`Unknown pool option \`${key}\`. Known options: ${[...KNOWN].join(', ')}`);
    }
  }
  const size = options.processes === undefined ? cpuCount() : integer('processes', options.processes, 1);
  const { maxtasksperchild, initializer, initargs = [], context = 'thread', maxHeapMb } = options;
  if (initializer !== undefined && typeof initializer !== 'function') {
    throw new TypeError(`Expected \`initializer\` to be a function, got ${received(initializer)}`);
  }
  if (!Array.isArray(initargs)) {
    throw new TypeError(`Expected \`initargs\` to be an array, got ${received(initargs)}`);
  }
  if (context !== 'thread' && context !== 'process') {
    throw new TypeError(`Expected \`context\` to be 'thread' or 'process', got ${received(context)}`);
  }
  return {
    context,
    ...resolveLimits(options, { timeout: null, retries: 0 }),
    executor: {
      size,
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

/** Validates a chunksize: Python silently returns Nones below 1; mpool refuses. */
export function resolveChunksize(chunksize: unknown): number | undefined {
  if (chunksize === undefined || chunksize === null) return undefined;
  return integer('chunksize', chunksize, 1);
}
