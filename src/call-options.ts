// The options each call takes (apply, map, imap and their settle forms), and how a call's last argument reads.
import type { Callbacks } from './async-result.js';
import type { CallRequest } from './calls.js';
import { isSource } from './chunks.js';
import type { FnRegistry } from './fn-registry.js';
import { received, resolveChunksize, resolveLimits } from './options.js';
import type { ProgressOptions } from './progress.js';

export type AnyFn = (...args: any[]) => unknown;

/** Options every call takes. */
export interface CallOptions {
  /** Cancels the call: queued work is dropped, running work stopped, and the result rejects with AbortError. */
  signal?: AbortSignal | undefined;
  /** Milliseconds each task (chunk) may run once started. @default the pool's `timeout` */
  timeout?: number | undefined;
  /** Times a task whose worker died is run again; the function must be idempotent. @default the pool's `retries` */
  retries?: number | undefined;
}

export interface ApplyOptions<R> extends CallOptions, Callbacks<R> {}

export interface MapLikeOptions extends CallOptions, ProgressOptions {
  /** Items per task. @default ceil(len / (4 × processes)) for arrays; adaptive for other inputs */
  chunksize?: number | undefined;
}

export interface MapOptions<R> extends MapLikeOptions, Callbacks<R[]> {
  /**
   * `true`: resolve with every item's outcome, in input order, in the shape of `Promise.allSettled`: an item
   * that throws is `{ status: 'rejected', reason }` and the rest still run. @default false
   */
  settle?: false | undefined;
}

/** Options of a map with `settle: true`: each item's outcome in place of the call failing at the first error. */
export interface SettledMapOptions<R> extends MapLikeOptions, Callbacks<PromiseSettledResult<R>[]> {
  settle: true;
}

export interface ImapOptions extends CallOptions, ProgressOptions {
  /** Items per task. @default 1 */
  chunksize?: number | undefined;
  /** Most chunks in flight or finished but unread; input is read no further ahead. @default max(16, 4 × processes) */
  buffersize?: number | undefined;
  /** `true`: yield every item's outcome, as `Promise.allSettled` gives them; a failure does not end the iteration. @default false */
  settle?: false | undefined;
}

/** Options of an imap with `settle: true`. */
export interface SettledImapOptions extends Omit<ImapOptions, 'settle'> {
  settle: true;
}

/** Arguments of `fn` as applyAsync takes them: optional only when `fn` takes none. */
export type ApplyArgs<F extends AnyFn, O> =
  [] extends Parameters<F> ? [args?: Parameters<F>, options?: O] : [args: Parameters<F>, options?: O];

/** `settle`, checked. */
export function resolveSettle(settle: unknown): boolean {
  if (settle === undefined || typeof settle === 'boolean') return settle === true;
  throw new TypeError(`Expected \`settle\` to be true or false, got ${received(settle)}`);
}

/** A call's last argument: a chunksize, an options object, or nothing. */
export function callOptions<O extends object>(arg: unknown): O {
  if (arg === undefined || arg === null) return {} as O;
  if (typeof arg === 'number') return { chunksize: arg } as O;
  if (typeof arg === 'object') return arg as O;
  throw new TypeError(`Expected a chunksize (integer >= 1) or an options object, got ${received(arg)}`);
}

/** A call's timeout and retries: its own options over the pool's. */
export function callLimits(
  options: CallOptions,
  pool: { timeout: number | null; retries: number },
): { timeout: number | null; retries: number } {
  if (options.timeout === undefined && options.retries === undefined) return pool;
  return resolveLimits(options, pool);
}

/** A map-like call as the caller's arguments ask for it, checked: what Calls starts (see Calls.collect). */
export function callRequest(
  fns: FnRegistry,
  pool: { timeout: number | null; retries: number },
  fn: unknown,
  iterable: unknown,
  options: CallOptions & { chunksize?: number | undefined; settle?: boolean | undefined },
  star: boolean,
  method: string,
): CallRequest {
  const settle = resolveSettle(options.settle);
  const [fnId, ref] = fns.ref(fn, settle);
  if (!isSource(iterable)) {
    throw new TypeError(
      `Expected \`iterable\` to be an Iterable or AsyncIterable, got ${received(iterable)}`,
    );
  }
  const { timeout, retries } = callLimits(options, pool);
  return {
    method,
    fnId,
    fn: ref,
    star,
    source: iterable,
    chunksize: resolveChunksize(options.chunksize),
    timeout,
    retries,
    signal: options.signal,
    settle,
  };
}
