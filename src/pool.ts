// Pool: Python's multiprocessing.Pool API (apply, map, imap, starmap, close/join/terminate) and its lifecycle.
import type { AsyncResult } from './async-result.js';
import {
  type AnyFn,
  type ApplyArgs,
  type ApplyOptions,
  type CallOptions,
  callLimits,
  callOptions,
  callRequest,
  type ImapOptions,
  type MapOptions,
  type SettledImapOptions,
  type SettledMapOptions,
} from './call-options.js';
import { Calls } from './calls.js';
import type { Source } from './chunks.js';
import { PoolStateError } from './errors.js';
import type { Executor } from './executor.js';
import { FnRegistry } from './fn-registry.js';
import { newPoolId } from './insight/channels.js';
import type { PoolStats } from './insight/stats.js';
import {
  type PoolOptions,
  type ResolvedPoolOptions,
  received,
  resolveChunksize,
  resolveOptions,
} from './options.js';
import { createExecutor } from './runtime/index.js';

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
  readonly #calls: Calls;
  readonly #fns = new FnRegistry();
  #stopped: Promise<void> | null = null;
  #joining: Promise<void> | null = null;
  #fatal: Error | null = null;

  /**
   * `options`, or only the number of workers, as Python's `Pool(4)`: `new Pool(4)` is
   * `new Pool({ processes: 4 })`.
   */
  constructor(options: PoolOptions | number = {}) {
    this.#options = resolveOptions(options);
    this.id = newPoolId();
    const resolved = this.#options;
    this.#calls = new Calls(
      this.id,
      { maxQueue: resolved.maxQueue, mergeable: resolved.executor.maxtasksperchild === null },
      (hooks) => createExecutor(resolved, hooks),
      (error) => this.#onFatal(error),
    );
    this.#executor = this.#calls.executor;
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
    return this.#calls.ready();
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
    const [fnId, ref] = this.#fns.ref(fn);
    if (!Array.isArray(args)) {
      throw new TypeError(`Expected \`args\` to be an array of arguments, got ${received(args)}`);
    }
    const { signal, callback, errorCallback } = options;
    return this.#calls.apply({
      fnId,
      fn: ref,
      args,
      limits: callLimits(options, this.#options),
      signal,
      callbacks: callback || errorCallback ? { callback, errorCallback } : undefined,
    });
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
      this.#calls.cutStreams(joinedError);
      await this.#calls.idle();
      this.#calls.clearPages();
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
    this.#calls.abortAll(error);
    this.#stopped = this.#executor.terminate();
    await this.#stopped;
  }

  /** `await using pool = new Pool()` closes and joins gracefully when the block ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state === 'running') this.close();
    await this.join();
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

  #onFatal(error: Error): void {
    if (this.#fatal || this.#state === 'terminated') return;
    this.#fatal = error;
    this.#calls.abortCalls(error);
    void this.terminate();
  }

  #collect(fn: unknown, iterable: unknown, arg: unknown, star: boolean): AsyncResult<unknown[]> {
    this.#checkRunning();
    const options = callOptions<MapOptions<unknown>>(arg);
    const plan = callRequest(this.#fns, this.#options, fn, iterable, options, star, star ? 'starmap' : 'map');
    const length = Array.isArray(iterable) ? iterable.length : undefined;
    return this.#calls.collect(plan, options, length);
  }

  #stream(fn: unknown, iterable: unknown, arg: unknown, ordered: boolean): AsyncIterableIterator<any> {
    this.#checkRunning();
    const options = callOptions<ImapOptions>(arg);
    const method = ordered ? 'imap' : 'imapUnordered';
    const plan = callRequest(this.#fns, this.#options, fn, iterable, options, false, method);
    const buffersize = options.buffersize === undefined ? undefined : resolveChunksize(options.buffersize)!;
    return this.#calls.stream(plan, buffersize, ordered, options);
  }
}

const NO_OPTIONS: ApplyOptions<any> = Object.freeze({});

function joinedError(): PoolStateError {
  return new PoolStateError(
    'The pool was joined before this imap was read to the end: it yielded the results computed by then. ' +
      'Read an imap to the end (or break out of it) before join().',
    'closed',
  );
}
