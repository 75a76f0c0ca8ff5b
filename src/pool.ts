// Pool: Python's multiprocessing.Pool API (apply, map, imap, starmap, close/join/terminate) and its lifecycle.
import { AsyncResult, type Callbacks, failResult } from './async-result.js';
import { ApplyCall, Call, type CallConsumer, type CallHost, type ChunkOwner } from './call.js';
import { defaultChunksize, isSource, PageCache, type Source } from './chunks.js';
import { AbortError, PoolStateError, QueueFullError } from './errors.js';
import type { ChunkResult, Executor } from './executor.js';
import { ImapIterator } from './imap.js';
import { newPoolId } from './insight/channels.js';
import type { PoolStats } from './insight/stats.js';
import {
  type PoolOptions,
  type ResolvedPoolOptions,
  received,
  resolveChunksize,
  resolveLimits,
  resolveOptions,
} from './options.js';
import { createProgress, type ProgressOptions } from './progress.js';
import type { FnRef } from './protocol.js';
import { createExecutor } from './runtime/index.js';
import { toFnRef } from './task.js';

type AnyFn = (...args: any[]) => unknown;

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

interface MapLikeOptions extends CallOptions, ProgressOptions {
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
type ApplyArgs<F extends AnyFn, O> =
  [] extends Parameters<F> ? [args?: Parameters<F>, options?: O] : [args: Parameters<F>, options?: O];

export type PoolState = 'running' | 'closing' | 'closed' | 'terminated';

/**
 * A pool of workers with Python's `multiprocessing.Pool` API. Tasks run on worker threads (default) or
 * child processes (`context: 'process'`).
 *
 * @example
 * await using pool = new Pool();
 * const result = pool.mapAsync((x: number) => x * x, [1, 2, 3, 4, 5]);
 * console.log(await result.get()); // [1, 4, 9, 16, 25]
 */
export class Pool implements AsyncDisposable {
  #state: PoolState = 'running';
  readonly #options: ResolvedPoolOptions;
  readonly #executor: Executor;
  readonly #owners = new Map<number, ChunkOwner>();
  /** Map-like calls in progress (they may be between chunks); applies are only counted. */
  readonly #active = new Set<ChunkOwner>();
  /** The imap calls among them: they read input only as their consumer reads, which join() does not wait on. */
  readonly #streams = new Set<Call>();
  #applies = 0;
  readonly #fnIds = new Map<string, number>();
  readonly #fnCache = new WeakMap<AnyFn, [number, FnRef]>();
  readonly #settledFnCache = new WeakMap<AnyFn, [number, FnRef]>();
  #nextChunk = 1;
  #idle: (() => void) | null = null;
  #stopped: Promise<void> | null = null;
  #joining: Promise<void> | null = null;
  #fatal: Error | null = null;
  /** Shared pages of finished numeric maps, for the next ones (see PageCache). */
  readonly #pages = new PageCache();
  readonly #host: CallHost;
  /** Calls that stopped reading input for lack of room in the queue (maxQueue), and ready() callers. */
  readonly #waitingForRoom = new Set<Call>();
  #readyWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];

  constructor(options: PoolOptions = {}) {
    this.#options = resolveOptions(options);
    const bounded = this.#options.maxQueue !== Number.POSITIVE_INFINITY;
    const pool = newPoolId();
    this.id = pool;
    this.#executor = createExecutor(this.#options, {
      pool,
      settle: (id, result) => this.#settle(id, result),
      fatal: (error) => this.#onFatal(error),
      ...(bounded ? { dequeued: () => this.#roomMaybe() } : {}),
    });
    this.#host = {
      pool,
      reserve: (owner) => this.#reserve(owner),
      submit: (job) => this.#executor.submit(job),
      cancel: (ids, stopRunning) => {
        for (const id of ids) this.#owners.delete(id);
        this.#executor.cancel(ids, stopRunning);
        if (this.#host.hasRoom !== null) this.#roomMaybe();
      },
      forget: (owner) => this.#forget(owner),
      workers: () => this.processes,
      msPerItem: (fnId) => this.#executor.msPerItem?.(fnId),
      hasRoom: bounded ? () => this.#executor.queued < this.#options.maxQueue : null,
      waitForRoom: (call) => this.#waitingForRoom.add(call),
    };
  }

  /** This pool's id, unique in this process: the `pool` of its diagnostics channel messages. */
  readonly id: number;

  /**
   * A snapshot of the pool: each worker (state, chunks and items done, time busy, idle and copying, heap,
   * what ended the one it replaced) and the whole (queued, running, done, failed, rate, task time median and
   * p99). Cheap enough to call every 100 ms. On Redis, what this submitter knows (see README).
   */
  stats(): PoolStats {
    return { runtime: this.#options.redis ? 'redis' : this.#options.context, ...this.#executor.stats() };
  }

  /** Workers running now: between `minProcesses` and `processes` (on Redis, `processes`). */
  get workerCount(): number {
    return this.#executor.workers;
  }

  /** Tasks (chunks) waiting for a worker: the queue that `maxQueue` bounds. */
  get queued(): number {
    return Math.max(0, this.#executor.queued);
  }

  /**
   * Resolves once the queue has room for a task (at once without `maxQueue`): a server can stop accepting
   * work before the pool must refuse it. Rejects with PoolStateError if the pool ends first.
   */
  ready(): Promise<void> {
    try {
      this.#checkRunning();
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#executor.queued < this.#options.maxQueue) return Promise.resolve();
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /** Lifecycle: 'running', then 'closing' after close(), 'closed' after join(), or 'terminated'. */
  get state(): PoolState {
    return this.#state;
  }

  /** Number of workers. */
  get processes(): number {
    return this.#executor.size;
  }

  /** Calls `fn(...args)` in a worker and resolves with its result. */
  async apply<F extends AnyFn>(fn: F, ...rest: ApplyArgs<F, CallOptions>): Promise<Awaited<ReturnType<F>>> {
    return this.applyAsync(fn, ...(rest as ApplyArgs<F, ApplyOptions<Awaited<ReturnType<F>>>>)).get();
  }

  /** Calls `fn(...args)` in a worker; returns an AsyncResult at once. */
  applyAsync<F extends AnyFn>(
    fn: F,
    ...[args = [] as unknown as Parameters<F>, options = NO_OPTIONS]: ApplyArgs<
      F,
      ApplyOptions<Awaited<ReturnType<F>>>
    >
  ): AsyncResult<Awaited<ReturnType<F>>> {
    this.#checkRunning();
    const [fnId, ref] = this.#fnRef(fn);
    if (!Array.isArray(args)) {
      throw new TypeError(`Expected \`args\` to be an array of arguments, got ${received(args)}`);
    }
    const limits = this.#limits(options);
    const { signal, callback, errorCallback } = options;
    const result = new AsyncResult<Awaited<ReturnType<F>>>(
      undefined,
      callback || errorCallback ? { callback, errorCallback } : undefined,
    );
    if (signal?.aborted) {
      failResult(result, new AbortError(undefined, { cause: signal.reason }));
      return result;
    }
    const { maxQueue } = this.#options;
    if (maxQueue !== Number.POSITIVE_INFINITY) {
      // Refused only if it would wait: with a worker free, even maxQueue 0 takes it.
      const queued = this.#executor.queued;
      if (queued + 1 > maxQueue) {
        failResult(result, new QueueFullError(maxQueue, Math.max(0, queued)));
        return result;
      }
    }
    const owner = new ApplyCall(this.#host, result, signal, fnId, ref, args, limits);
    this.#applies++;
    owner.id = this.#reserve(owner);
    this.#executor.submit(owner);
    return result;
  }

  /**
   * Python's `map`: applies `fn` to every item, in parallel, and resolves with the results in input order.
   * With `settle: true`, resolves with every item's outcome instead (as `Promise.allSettled`).
   */
  async map<T, R>(
    fn: (item: T) => R,
    iterable: Source<T>,
    options: SettledMapOptions<Awaited<R>>,
  ): Promise<PromiseSettledResult<Awaited<R>>[]>;
  async map<T, R>(
    fn: (item: T) => R,
    iterable: Source<T>,
    chunksize?: number | MapOptions<Awaited<R>>,
  ): Promise<Awaited<R>[]>;
  async map(fn: AnyFn, iterable: Source<unknown>, options?: unknown): Promise<unknown[]> {
    return this.#collect(fn, iterable, options, false).get();
  }

  /** Python's `map_async`: like map, but returns an AsyncResult at once. */
  mapAsync<T, R>(
    fn: (item: T) => R,
    iterable: Source<T>,
    options: SettledMapOptions<Awaited<R>>,
  ): AsyncResult<PromiseSettledResult<Awaited<R>>[]>;
  mapAsync<T, R>(
    fn: (item: T) => R,
    iterable: Source<T>,
    chunksize?: number | MapOptions<Awaited<R>>,
  ): AsyncResult<Awaited<R>[]>;
  mapAsync(fn: AnyFn, iterable: Source<unknown>, options?: unknown): AsyncResult<any> {
    return this.#collect(fn, iterable, options, false);
  }

  /** Python's `starmap`: each item is a tuple of arguments, spread into `fn`. */
  async starmap<A extends unknown[], R>(
    fn: (...args: A) => R,
    iterable: Source<A>,
    options: SettledMapOptions<Awaited<R>>,
  ): Promise<PromiseSettledResult<Awaited<R>>[]>;
  async starmap<A extends unknown[], R>(
    fn: (...args: A) => R,
    iterable: Source<A>,
    chunksize?: number | MapOptions<Awaited<R>>,
  ): Promise<Awaited<R>[]>;
  async starmap(fn: AnyFn, iterable: Source<unknown[]>, options?: unknown): Promise<unknown[]> {
    return this.#collect(fn, iterable, options, true).get();
  }

  /** Python's `starmap_async`. */
  starmapAsync<A extends unknown[], R>(
    fn: (...args: A) => R,
    iterable: Source<A>,
    options: SettledMapOptions<Awaited<R>>,
  ): AsyncResult<PromiseSettledResult<Awaited<R>>[]>;
  starmapAsync<A extends unknown[], R>(
    fn: (...args: A) => R,
    iterable: Source<A>,
    chunksize?: number | MapOptions<Awaited<R>>,
  ): AsyncResult<Awaited<R>[]>;
  starmapAsync(fn: AnyFn, iterable: Source<unknown[]>, options?: unknown): AsyncResult<any> {
    return this.#collect(fn, iterable, options, true);
  }

  /** Python's `imap`: results in input order, as they are ready; input is read only as results are consumed. */
  imap<T, R>(
    fn: (item: T) => R,
    iterable: Source<T>,
    options: SettledImapOptions,
  ): AsyncIterableIterator<PromiseSettledResult<Awaited<R>>>;
  imap<T, R>(
    fn: (item: T) => R,
    iterable: Source<T>,
    chunksize?: number | ImapOptions,
  ): AsyncIterableIterator<Awaited<R>>;
  imap(fn: AnyFn, iterable: Source<unknown>, options?: unknown): AsyncIterableIterator<unknown> {
    return this.#stream(fn, iterable, options, true);
  }

  /** Python's `imap_unordered`: results in the order they finish. */
  imapUnordered<T, R>(
    fn: (item: T) => R,
    iterable: Source<T>,
    options: SettledImapOptions,
  ): AsyncIterableIterator<PromiseSettledResult<Awaited<R>>>;
  imapUnordered<T, R>(
    fn: (item: T) => R,
    iterable: Source<T>,
    chunksize?: number | ImapOptions,
  ): AsyncIterableIterator<Awaited<R>>;
  imapUnordered(fn: AnyFn, iterable: Source<unknown>, options?: unknown): AsyncIterableIterator<unknown> {
    return this.#stream(fn, iterable, options, false);
  }

  /** Stops taking new work; what is queued still runs. Then call join(). */
  close(): void {
    if (this.#state === 'running') this.#state = 'closing';
  }

  /** Waits for the work to finish and the workers to exit. Call close() (or terminate()) first. */
  async join(): Promise<void> {
    if (this.#state === 'running') {
      throw new PoolStateError(
        'join() was called before close() or terminate(): call pool.close() first.',
        'running',
      );
    }
    if (this.#state === 'terminated') {
      await this.#stopped;
      // A pool that ended itself (an initializer threw, workers cannot start) says why to whoever joins it.
      if (this.#fatal) throw this.#fatal;
      return;
    }
    // Every join() waits on the same promise, so concurrent calls all resolve.
    this.#joining ??= (async () => {
      // Python's join() returns once the tasks sent have run, whether or not anyone reads an imap's results.
      for (const call of this.#streams) call.cutInput(joinedError());
      if (this.#busy()) await new Promise<void>((resolve) => (this.#idle = resolve));
      this.#pages.clear();
      this.#stopped ??= this.#executor.close();
      await this.#stopped;
      if (this.#fatal) throw this.#fatal;
      if (this.#state === 'closing') this.#state = 'closed';
    })();
    return this.#joining;
  }

  /** Stops the workers now. Every unfinished result rejects with a PoolStateError. */
  async terminate(): Promise<void> {
    if (this.#state === 'terminated') return this.#stopped ?? undefined;
    if (this.#state === 'closed') return;
    this.#state = 'terminated';
    const error = new PoolStateError(
      this.#fatal
        ? `The pool was terminated: ${this.#fatal.message}`
        : 'The pool was terminated before this task finished.',
      'terminated',
      { cause: this.#fatal ?? undefined },
    );
    for (const owner of this.#everyOwner()) owner.abort(error, false);
    this.#waitingForRoom.clear();
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
    this.#idle?.();
    this.#pages.clear();
    this.#stopped = this.#executor.terminate();
    await this.#stopped;
  }

  /** `await using pool = new Pool()` closes and joins gracefully when the block ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state === 'running') this.close();
    await this.join();
  }

  #limits(options: CallOptions): { timeout: number | null; retries: number } {
    if (options.timeout === undefined && options.retries === undefined) return this.#options;
    return resolveLimits(options, this.#options);
  }

  #checkRunning(): void {
    if (this.#state === 'running') return;
    const why = this.#fatal ? ` (${this.#fatal.message})` : '';
    throw new PoolStateError(
      `Pool not running: it is ${this.#state}${why}. Create a new Pool for more work.`,
      this.#state,
      { cause: this.#fatal ?? undefined },
    );
  }

  /** The function's id and reference; `settle`: its settling variant, a function of its own to the workers. */
  #fnRef(fn: unknown, settle = false): [number, FnRef] {
    const cache = settle ? this.#settledFnCache : this.#fnCache;
    const cached = cache.get(fn as AnyFn);
    if (cached) return cached;
    const plain = toFnRef(fn);
    const ref: FnRef = settle ? { ...plain, settle: true } : plain;
    const key = (settle ? 'settle:' : '') + (ref.kind === 'inline' ? ref.source : ref.key);
    let id = this.#fnIds.get(key);
    if (id === undefined) {
      id = this.#fnIds.size + 1;
      this.#fnIds.set(key, id);
    }
    const entry: [number, FnRef] = [id, ref];
    cache.set(fn as AnyFn, entry);
    return entry;
  }

  #reserve(owner: ChunkOwner): number {
    const id = this.#nextChunk++;
    this.#owners.set(id, owner);
    return id;
  }

  #busy(): boolean {
    return this.#active.size > 0 || this.#applies > 0;
  }

  #everyOwner(): Set<ChunkOwner> {
    return new Set([...this.#active, ...this.#owners.values()]);
  }

  #settle(id: number, result: ChunkResult): void {
    const owner = this.#owners.get(id);
    if (!owner) return;
    this.#owners.delete(id);
    owner.settle(id, result);
    if (this.#host.hasRoom !== null) this.#roomMaybe();
  }

  /** With maxQueue: wakes ready() callers and calls waiting for room, if there is some now. */
  #roomMaybe(): void {
    if (this.#executor.queued >= this.#options.maxQueue) return;
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) waiter.resolve();
    if (this.#waitingForRoom.size === 0) return;
    const calls = [...this.#waitingForRoom];
    this.#waitingForRoom.clear();
    for (const call of calls) call.resume();
  }

  #forget(owner: ChunkOwner): void {
    if (owner instanceof ApplyCall) this.#applies--;
    else {
      this.#active.delete(owner);
      this.#streams.delete(owner as Call);
    }
    if (!this.#busy() && this.#idle) {
      const resolve = this.#idle;
      this.#idle = null;
      resolve();
    }
  }

  #onFatal(error: Error): void {
    if (this.#fatal || this.#state === 'terminated') return;
    this.#fatal = error;
    for (const owner of this.#everyOwner()) owner.abort(error, false);
    void this.terminate();
  }

  #plan(
    fn: unknown,
    iterable: unknown,
    options: CallOptions & { chunksize?: number | undefined; settle?: boolean | undefined },
    star: boolean,
    method: string,
  ) {
    const settle = resolveSettle(options.settle);
    const [fnId, ref] = this.#fnRef(fn, settle);
    if (!isSource(iterable)) {
      throw new TypeError(
        `Expected \`iterable\` to be an Iterable or AsyncIterable, got ${received(iterable)}`,
      );
    }
    return {
      method,
      fnId,
      fn: ref,
      star,
      source: iterable,
      chunksize: resolveChunksize(options.chunksize),
      ...this.#limits(options),
      signal: options.signal,
      settle,
    };
  }

  #collect(fn: unknown, iterable: unknown, arg: unknown, star: boolean): AsyncResult<unknown[]> {
    this.#checkRunning();
    const options = callOptions<MapOptions<unknown>>(arg);
    const plan = this.#plan(fn, iterable, options, star, star ? 'starmap' : 'map');
    const length = Array.isArray(iterable) ? iterable.length : undefined;
    const progress = createProgress(options, star ? 'starmap' : 'map', plan.settle);
    return new AsyncResult<unknown[]>(
      (fulfil, fail) => {
        const parts: Array<[number, ArrayLike<unknown>]> = [];
        const consumer: CallConsumer = {
          chunk: (_seq, base, values) => {
            parts.push([base, values]);
            call.release();
          },
          // The result fails at the first error, and the rest of the call stops: no one will see its
          // results, and its side effects should not outlive the failure (Python runs them all, then raises).
          chunkError: (_seq, error) => {
            progress?.stop();
            fail(error);
            call.stop(true);
          },
          fail: (error) => {
            progress?.stop();
            fail(error);
          },
          end: (count) => {
            const results: unknown[] = new Array(count);
            for (const [base, values] of parts) copyInto(results, base, values);
            parts.length = 0;
            call.recyclePages();
            progress?.stop();
            fulfil(results);
          },
        };
        const call = new Call(
          this.#host,
          {
            ...plan,
            chunksize:
              plan.chunksize ??
              (length === undefined ? 'adaptive' : defaultChunksize(length, this.processes)),
            merge: this.#options.executor.maxtasksperchild === null && plan.timeout === null && !plan.signal,
            pages: this.#pages,
            window: Math.min(
              length === undefined ? Math.max(16, 4 * this.processes) : Number.POSITIVE_INFINITY,
              this.#executor.window ?? Number.POSITIVE_INFINITY,
            ),
            onProgress: progress?.update,
          },
          consumer,
        );
        this.#active.add(call);
        call.start();
      },
      { callback: options.callback, errorCallback: options.errorCallback },
    );
  }

  #stream(fn: unknown, iterable: unknown, arg: unknown, ordered: boolean): AsyncIterableIterator<any> {
    this.#checkRunning();
    const options = callOptions<ImapOptions>(arg);
    const plan = this.#plan(fn, iterable, options, false, ordered ? 'imap' : 'imapUnordered');
    const buffersize =
      options.buffersize === undefined
        ? Math.max(16, 4 * this.processes)
        : resolveChunksize(options.buffersize)!;
    const progress = createProgress(options, ordered ? 'imap' : 'imapUnordered', plan.settle);
    const iterator = new ImapIterator<unknown>(ordered, progress);
    const call = new Call(
      this.#host,
      {
        ...plan,
        chunksize: plan.chunksize ?? 1,
        merge: false,
        pages: null,
        window: buffersize,
        onProgress: progress?.update,
      },
      iterator,
    );
    iterator.attach(call);
    this.#active.add(call);
    this.#streams.add(call);
    call.start();
    return iterator;
  }
}

/** Copies a chunk's values into the results; numbers and plain arrays get separate, monomorphic loops. */
function copyInto(results: unknown[], base: number, values: ArrayLike<unknown>): void {
  if (values instanceof Float64Array) copyNumbers(results, base, values);
  else copyValues(results, base, values);
}

// Whole numbers are stored as small integers, so an array of them is never rebuilt as one of doubles.
function copyNumbers(results: unknown[], base: number, values: Float64Array): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    const int = value | 0;
    results[base + i] = int === value && (int !== 0 || Object.is(value, 0)) ? int : value;
  }
}

function copyValues(results: unknown[], base: number, values: ArrayLike<unknown>): void {
  for (let i = 0; i < values.length; i++) results[base + i] = values[i];
}

const NO_OPTIONS: ApplyOptions<any> = Object.freeze({});

function joinedError(): PoolStateError {
  return new PoolStateError(
    'The pool was joined before this imap was read to the end: it yielded the results computed by then. ' +
      'Read an imap to the end (or break out of it) before join().',
    'closed',
  );
}

function resolveSettle(settle: unknown): boolean {
  if (settle === undefined || typeof settle === 'boolean') return settle === true;
  throw new TypeError(`Expected \`settle\` to be true or false, got ${received(settle)}`);
}

function callOptions<O extends object>(arg: unknown): O {
  if (arg === undefined || arg === null) return {} as O;
  if (typeof arg === 'number') return { chunksize: arg } as O;
  if (typeof arg === 'object') return arg as O;
  throw new TypeError(`Expected a chunksize (integer >= 1) or an options object, got ${received(arg)}`);
}
