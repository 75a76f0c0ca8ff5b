// The calls in flight on one pool, and the Pool's one seam to call.ts: it starts each apply, map and imap,
// routes each chunk's outcome to its call, knows what join() waits for, and keeps the bounded queue's room.

import { ApplyCall } from './apply-call.js';
import { AsyncResult, type Callbacks, failResult } from './async-result.js';
import { Call, type CallConsumer, type CallHost, type CallPlan } from './call.js';
import { defaultChunksize, PageCache } from './chunks.js';
import { AbortError, QueueFullError } from './errors.js';
import type { ChunkJob, ChunkOwner, ChunkResult, Executor, ExecutorHooks } from './executor.js';
import { ImapIterator } from './imap.js';
import { createProgress, type ProgressOptions } from './progress.js';
import type { FnRef } from './protocol.js';

/** A map-like call as the Pool asks for it; Calls adds what follows from the pool (window, pages, merging). */
export type CallRequest = Omit<CallPlan, 'chunksize' | 'merge' | 'pages' | 'window' | 'onProgress'> & {
  chunksize: number | undefined;
};

/** An apply as the Pool asks for it. */
export interface ApplyRequest {
  fnId: number;
  fn: FnRef;
  args: unknown[];
  limits: { timeout: number | null; retries: number };
  signal: AbortSignal | undefined;
  callbacks: Callbacks<any> | undefined;
}

export class Calls {
  readonly #executor: Executor;
  readonly #maxQueue: number;
  /** Whether a map may merge tiny chunks of numbers (not with maxtasksperchild, which counts chunks). */
  readonly #mergeable: boolean;
  /** Map-like calls in progress (they may be between chunks). */
  readonly #active = new Set<ChunkOwner>();
  /** The imap calls among them: they read input only as their consumer reads, which join() does not wait on. */
  readonly #streams = new Set<Call>();
  /** Applies waiting for their outcome: how many, and the newest, linked to the older ones. */
  #applies = 0;
  #newestApply: ApplyCall | null = null;
  #nextChunk = 1;
  #idle: (() => void) | null = null;
  /** Shared pages of finished numeric maps, for the next ones (see PageCache). */
  readonly #pages = new PageCache();
  readonly #host: CallHost;
  /** Calls that stopped reading input for lack of room in the queue (maxQueue), and ready() callers. */
  readonly #waitingForRoom = new Set<Call>();
  #readyWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];

  /**
   * `executor` is made with the hooks this gives it (see hooks()), so it comes as a factory; `fatal` is how
   * the executor ends the pool.
   */
  constructor(
    pool: number,
    limits: { maxQueue: number; mergeable: boolean },
    executor: (hooks: ExecutorHooks) => Executor,
    fatal: (error: Error) => void,
  ) {
    this.#maxQueue = limits.maxQueue;
    const bounded = this.#maxQueue !== Number.POSITIVE_INFINITY;
    this.#executor = executor({
      pool,
      settle: (job, result) => this.#settle(job, result),
      fatal,
      ...(bounded ? { dequeued: () => this.#roomMaybe() } : {}),
    });
    // Merging tiny chunks rests on what their workers measure: an executor that measures none never merges.
    this.#mergeable = limits.mergeable && this.#executor.msPerItem !== undefined;
    this.#host = {
      pool,
      reserve: () => this.#nextChunk++,
      submit: (job) => this.#executor.submit(job),
      cancel: (ids, stopRunning) => {
        this.#executor.cancel(ids, stopRunning);
        if (this.#host.hasRoom !== null) this.#roomMaybe();
      },
      forget: (owner) => this.#forget(owner),
      workers: () => this.#executor.size,
      msPerItem: (fnId) => this.#executor.msPerItem?.(fnId),
      hasRoom: bounded ? () => this.#executor.queued < this.#maxQueue : null,
      waitForRoom: (call) => this.#waitingForRoom.add(call),
    };
  }

  get executor(): Executor {
    return this.#executor;
  }

  /** One apply: refused with QueueFullError if it would wait behind maxQueue tasks. */
  apply<R>({ fnId, fn, args, limits, signal, callbacks }: ApplyRequest): AsyncResult<R> {
    const result = new AsyncResult<R>(undefined, callbacks);
    if (signal?.aborted) {
      failResult(result, new AbortError(undefined, { cause: signal.reason }));
      return result;
    }
    if (this.#maxQueue !== Number.POSITIVE_INFINITY) {
      // Refused only if it would wait: with a worker free, even maxQueue 0 takes it.
      const queued = this.#executor.queued;
      if (queued + 1 > this.#maxQueue) {
        failResult(result, new QueueFullError(this.#maxQueue, Math.max(0, queued)));
        return result;
      }
    }
    const apply = new ApplyCall(this.#host, result, signal, fnId, fn, args, limits);
    apply.id = this.#nextChunk++;
    this.#applies++;
    const newest = this.#newestApply;
    if (newest) {
      newest.newer = apply;
      apply.older = newest;
    }
    this.#newestApply = apply;
    this.#executor.submit(apply);
    return result;
  }

  /** A map or starmap: resolves with every result in input order (or every outcome, with settle). */
  collect(
    request: CallRequest,
    options: Callbacks<unknown[]> & ProgressOptions,
    length: number | undefined,
  ): AsyncResult<unknown[]> {
    const progress = createProgress(options, request.method, request.settle);
    const processes = this.#executor.size;
    return new AsyncResult<unknown[]>(
      (fulfil, fail) => {
        // Each chunk's values are copied into the results as they come, so that its shared page can take the
        // next chunks (only arrays are read into pages: an input of unknown length keeps its parts to the end).
        let results: unknown[] | null = null;
        const parts: Array<[number, ArrayLike<unknown>]> = [];
        const consumer: CallConsumer = {
          chunk: (_seq, base, values) => {
            if (length === undefined) parts.push([base, values]);
            else {
              results ??= new Array(length);
              copyInto(results, base, values);
            }
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
            results ??= new Array(count);
            // An input array the caller lengthened or shortened meanwhile: the results are what was read.
            if (results.length !== count) results.length = count;
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
            ...request,
            chunksize:
              request.chunksize ?? (length === undefined ? 'adaptive' : defaultChunksize(length, processes)),
            merge: this.#mergeable && request.timeout === null && !request.signal,
            pages: this.#pages,
            window: Math.min(
              length === undefined ? Math.max(16, 4 * processes) : Number.POSITIVE_INFINITY,
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

  /** An imap or imapUnordered: an async iterator that reads input only as its consumer reads. */
  stream(
    request: CallRequest,
    buffersize: number | undefined,
    ordered: boolean,
    options: ProgressOptions,
  ): AsyncIterableIterator<unknown> {
    const progress = createProgress(options, request.method, request.settle);
    const iterator = new ImapIterator<unknown>(ordered, progress);
    const call = new Call(
      this.#host,
      {
        ...request,
        chunksize: request.chunksize ?? 1,
        merge: false,
        pages: null,
        window: buffersize ?? Math.max(16, 4 * this.#executor.size),
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

  /** Whether any call is in progress: join() waits while one is. */
  get busy(): boolean {
    return this.#active.size > 0 || this.#applies > 0;
  }

  /** Resolves once no call is in progress. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise<void>((resolve) => (this.#idle = resolve));
  }

  /** join() does not wait on an imap's reader: each stops reading input, and ends once its chunks are back. */
  cutStreams(error: () => unknown): void {
    for (const call of this.#streams) call.cutInput(error());
  }

  /** Ends every call in progress with `error` (a fatal error: the pool terminates next). */
  abortCalls(error: unknown): void {
    const owners: ChunkOwner[] = [...this.#active];
    for (let apply = this.#newestApply; apply; apply = apply.older) owners.push(apply);
    for (const owner of owners) owner.abort(error, false);
  }

  /** Ends every call with `error`, and every ready() waiter (terminate). */
  abortAll(error: unknown): void {
    this.abortCalls(error);
    this.#waitingForRoom.clear();
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
    this.#idle?.();
    this.#pages.clear();
  }

  /** The pages of finished maps go: the pool is done with maps. */
  clearPages(): void {
    this.#pages.clear();
  }

  /** Resolves once the queue has room for a task (see Pool.ready). */
  ready(): Promise<void> {
    if (this.#executor.queued < this.#maxQueue) return Promise.resolve();
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  // Each chunk's outcome goes to its owner; the executor settles a chunk once, and an owner ignores the
  // outcome of a chunk it has stopped waiting for (a cancelled call's, an aborted apply's).
  #settle(job: ChunkJob, result: ChunkResult): void {
    job.owner.settle(job.id, result);
    if (this.#host.hasRoom !== null) this.#roomMaybe();
  }

  /** With maxQueue: wakes ready() callers and calls waiting for room, if there is some now. */
  #roomMaybe(): void {
    if (this.#executor.queued >= this.#maxQueue) return;
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) waiter.resolve();
    if (this.#waitingForRoom.size === 0) return;
    const calls = [...this.#waitingForRoom];
    this.#waitingForRoom.clear();
    for (const call of calls) call.resume();
  }

  #forget(owner: ChunkOwner): void {
    if (owner instanceof ApplyCall) {
      this.#applies--;
      const { newer, older } = owner;
      if (newer) newer.older = older;
      else this.#newestApply = older;
      if (older) older.newer = newer;
      owner.newer = owner.older = null;
    } else {
      this.#active.delete(owner);
      this.#streams.delete(owner as Call);
    }
    if (!this.busy && this.#idle) {
      const resolve = this.#idle;
      this.#idle = null;
      resolve();
    }
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
