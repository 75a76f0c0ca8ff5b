// One map-like call in flight: reads its input lazily, feeds chunks within a window, and reports each result.
// (pool.ts holds the Python-facing API; this holds the feeding engine that map, starmap and imap share.)
import { performance } from 'node:perf_hooks';
import {
  AdaptiveChunksize,
  ChunkReader,
  COLUMN_PAGE,
  mergedChunksize,
  PAGES_AHEAD,
  type PageCache,
  type Source,
} from './chunks.js';
import { AbortError } from './errors.js';
import type { ChunkJob, ChunkOwner, ChunkResult } from './executor.js';
import { type CallTrace, newCallId, traceCall } from './insight/channels.js';
import type { FnRef } from './protocol.js';
import { allRejected, fromRecords } from './settled.js';

/** What a call needs from its pool: a way to submit a chunk and to take chunks back. */
export interface CallHost {
  /** The pool's id, for the call's events. */
  readonly pool: number;
  /** An id for a new chunk. */
  reserve(): number;
  submit(job: ChunkJob): void;
  cancel(ids: ReadonlySet<number>, stopRunning: boolean): void;
  forget(owner: ChunkOwner): void;
  /** How many chunks can run at once. */
  workers(): number;
  /** What one item of this function has cost so far, once measured (see mergedChunksize). */
  msPerItem(fnId: number): number | undefined;
  /** Whether the pool's queue has room for a chunk (maxQueue); null when it is unbounded. */
  readonly hasRoom: (() => boolean) | null;
  /** The call stopped for lack of room: resume() it when there is some. */
  waitForRoom(call: Call): void;
}

/** Where a call's results go: map collects them; imap hands them to its iterator. */
export interface CallConsumer {
  chunk(seq: number, base: number, values: ArrayLike<unknown>): void;
  chunkError(seq: number, error: unknown): void;
  /** The call failed as a whole: its input threw, its signal fired, or the pool was terminated. */
  fail(error: unknown): void;
  end(count: number): void;
}

export interface CallPlan {
  /** The Python name of the method that made the call, for its events ('map', 'imap', ...). */
  method: string;
  fn: FnRef;
  fnId: number;
  star: boolean;
  source: Source<unknown>;
  /** A fixed chunksize, or 'adaptive' for inputs of unknown length. */
  chunksize: number | 'adaptive';
  /**
   * Whether tiny chunks of an array of numbers may run together (mergedChunksize): map, but not with
   * maxtasksperchild (which counts chunks), a timeout or a signal (which act on one chunk).
   */
  merge: boolean;
  /**
   * Where a numeric input's shared pages come from, for a consumer that copies each chunk's values out before
   * chunk() returns (map): a page goes back as soon as its chunks are copied out, for the next chunks.
   */
  pages: PageCache | null;
  /** Most chunks submitted but not yet consumed. Bounds read-ahead and memory. */
  window: number;
  timeout: number | null;
  retries: number;
  signal: AbortSignal | undefined;
  /**
   * `settle: true`: every item's outcome, as Promise.allSettled gives them; a failure, of an item or of its
   * whole chunk, is an outcome, never the call's end. `fn` is then the settling variant (FnRef.settle).
   */
  settle: boolean;
  onProgress: ((done: number, total: number | undefined, failed: number) => void) | undefined;
}

// Chunks per worker that a map reads ahead while its function's cost is unknown (see #room).
const LEARNING_AHEAD = 4;

interface InFlight {
  seq: number;
  base: number;
  size: number;
  sentAt: number;
  job: ChunkJob;
}

export class Call implements ChunkOwner {
  readonly id = newCallId();
  readonly #host: CallHost;
  readonly #plan: CallPlan;
  readonly #consumer: CallConsumer;
  readonly #reader: ChunkReader<unknown>;
  readonly #adaptive: AdaptiveChunksize | null;
  /** The size of the chunks read next, when not adaptive (see #size). */
  #chunksize: number;
  /**
   * A map of numbers that started before its function's cost was known: from the first estimate on, each
   * chunk still to read is sized by the estimate at hand (see #size).
   */
  readonly #mergeLater: boolean;
  readonly #inflight = new Map<number, InFlight>();
  #held = 0;
  #seq = 0;
  #count = 0;
  #done = 0;
  /** Items that failed, with `settle: true` (otherwise the first failure ends the call). */
  #failed = 0;
  #reading = false;
  /** A synchronous read paused for the dispatch of what it read so far (see #feed). */
  #feedQueued = false;
  /** The window filled up, and has not yet drained to half (see #room). */
  #full = false;
  #finished = false;
  #inputError: { error: unknown } | null = null;
  /** The total last given to onProgress: undefined until the input's length is known. */
  #progressTotal: number | undefined;
  /** Set when join() cut the input short: what the consumer is told once the chunks sent have come back. */
  #cut: { error: unknown } | null = null;
  #trace: CallTrace | null = null;
  readonly #onAbort = (): void => {
    const reason = this.#plan.signal?.reason;
    this.abort(new AbortError(undefined, { cause: reason }), true);
  };

  constructor(host: CallHost, plan: CallPlan, consumer: CallConsumer) {
    this.#host = host;
    this.#consumer = consumer;
    this.#reader = new ChunkReader(plan.source, plan.pages);
    this.#adaptive = plan.chunksize === 'adaptive' ? new AdaptiveChunksize() : null;
    this.#plan = plan;
    const length = this.#reader.length;
    this.#chunksize = typeof plan.chunksize === 'number' ? plan.chunksize : 0;
    this.#mergeLater = false;
    // Only numbers: they cost next to nothing to copy, so a tiny chunk of them is mostly the pool's own
    // overhead. A chunk of objects costs its copying, which merging would only make coarser.
    if (plan.merge && this.#reader.numeric && typeof plan.chunksize === 'number' && length !== undefined) {
      const msPerItem = host.msPerItem(plan.fnId);
      if (msPerItem !== undefined) {
        this.#chunksize = mergedChunksize(plan.chunksize, length, host.workers(), msPerItem);
      } else if (mergedChunksize(plan.chunksize, length, host.workers(), 0) > plan.chunksize) {
        // Long enough that its chunks could merge were they free (see #size).
        this.#mergeLater = true;
      }
    }
  }

  /** Input length when known up front. */
  get total(): number | undefined {
    return this.#reader.length;
  }

  start(): void {
    this.#trace = traceCall(this.#host.pool, this.id, this.#plan.method, this.#plan.fn, this.#reader.length);
    const { signal } = this.#plan;
    if (signal?.aborted) {
      this.#onAbort();
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#feed();
  }

  /** The consumer finished with `chunks` delivered chunks: room for more input. */
  release(chunks = 1): void {
    this.#held -= chunks;
    this.#feed();
  }

  settle(id: number, chunkResult: ChunkResult): void {
    const info = this.#inflight.get(id);
    if (!info || this.#finished) return;
    this.#inflight.delete(id);
    const result = this.#plan.settle ? this.#outcomes(info, chunkResult) : chunkResult;
    if (!result.ok) {
      // An error waits for its reader like a result does: it holds its place in the window until then, so
      // an imap whose tasks fail reads no further ahead than one whose tasks succeed.
      this.#held++;
      this.#trace?.error(result.error);
      this.#consumer.chunkError(info.seq, result.error);
      this.#feed();
      return;
    }
    this.#adaptive?.observe(info.size, performance.now() - info.sentAt);
    this.#held++;
    this.#done += info.size;
    this.#progressTotal = this.#reader.done ? this.#count : this.#reader.length;
    this.#plan.onProgress?.(this.#done, this.#progressTotal, this.#failed);
    this.#consumer.chunk(info.seq, info.base, result.values);
    // A worker may still write where a chunk went more than once or failed as a whole: its page is not reused.
    if (this.#plan.pages) this.#reader.release(info.job.items, chunkResult.ok && info.job.attempts <= 1);
    this.#feed();
  }

  /** A chunk's result with `settle: true`: its items' outcomes, whether the chunk ran or failed as a whole. */
  #outcomes(info: InFlight, result: ChunkResult): ChunkResult {
    const values = result.ok ? fromRecords(result.values, info.base) : allRejected(result.error, info.size);
    for (const outcome of values) if (outcome.status === 'rejected') this.#failed++;
    return { ok: true, values };
  }

  /**
   * Gives the input's shared pages back to the pool, for a consumer that has copied every result out of them.
   * Only after end(): then every chunk has reported, so no worker can still write there.
   */
  recyclePages(): void {
    if (this.#finished && this.#inflight.size === 0) this.#reader.recycle();
  }

  abort(error: unknown, stopRunning: boolean): void {
    if (this.#finished) return;
    this.stop(stopRunning);
    this.#trace?.error(error);
    this.#consumer.fail(error);
  }

  /**
   * join() does not wait on a consumer: the call reads no more input, the chunks already sent still run, and
   * once they are back the consumer is given them, then `error`. An input already read to the end is not cut.
   */
  cutInput(error: unknown): void {
    if (this.#finished || this.#reader.done) return;
    this.#cut = { error };
    this.#reader.close();
    this.#maybeEnd();
  }

  /** Ends the call early: drops its queued chunks, and with stopRunning stops its running ones. */
  stop(stopRunning: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#plan.signal?.removeEventListener('abort', this.#onAbort);
    if (this.#inflight.size > 0) this.#host.cancel(new Set(this.#inflight.keys()), stopRunning);
    this.#inflight.clear();
    this.#reader.close();
    this.#host.forget(this);
  }

  #room(): boolean {
    if (this.#finished || this.#reader.done) return false;
    // A full window refills once half of it is free, not a chunk at a time: what the consumer frees while
    // reading a batch of results goes out as one message, not one message per chunk.
    const out = this.#inflight.size + this.#held;
    const { window } = this.#plan;
    if (out >= window) {
      this.#full = true;
      return false;
    }
    if (this.#full) {
      if (out > window / 2) return false;
      this.#full = false;
    }
    // A numeric map reads at most a few pages ahead of the results it has copied out (see PAGES_AHEAD).
    if (this.#reader.pagesAhead >= Math.max(PAGES_AHEAD, 2 * this.#host.workers())) return false;
    // A map still to learn its function's cost (see #size) reads only as far ahead as the workers can take
    // before their first reports (a batch goes one chunk at a time until then): the rest goes merged.
    if (
      this.#mergeLater &&
      this.#inflight.size >= LEARNING_AHEAD * this.#host.workers() &&
      this.#host.msPerItem(this.#plan.fnId) === undefined
    )
      return false;
    const hasRoom = this.#host.hasRoom;
    if (hasRoom === null || hasRoom()) return true;
    // The pool is full (maxQueue): read no more input until it has room.
    this.#host.waitForRoom(this);
    return false;
  }

  /** The pool has room again (see CallHost.waitForRoom). */
  resume(): void {
    this.#feed();
  }

  #size(): number {
    if (this.#adaptive) return this.#adaptive.next();
    // A process's first map of a cheap function learns its cost from its own first chunks: the rest of the
    // input is read merged, each chunk sized for the items left by the latest estimate, which improves as
    // the workers' code warms up. (A map that starts with the cost known keeps one size, set above.)
    if (this.#mergeLater) {
      const msPerItem = this.#host.msPerItem(this.#plan.fnId);
      if (msPerItem !== undefined) {
        const left = this.#reader.length! - this.#count;
        const asked = this.#plan.chunksize as number;
        this.#chunksize = mergedChunksize(asked, left, this.#host.workers(), msPerItem);
      }
    }
    return this.#chunksize;
  }

  #feed(): void {
    if (this.#reading) return;
    if (this.#reader.synchronous) {
      try {
        let read = 0;
        while (this.#room()) {
          // A long numeric input goes out a page at a time: the workers start on the first while the rest is read.
          if (read >= COLUMN_PAGE && this.#reader.numeric) {
            this.#feedLater();
            return;
          }
          const items = this.#reader.readSync(this.#size());
          read += items.length;
          this.#submit(items);
        }
      } catch (err) {
        this.#inputFailed(err);
      }
      this.#maybeEnd();
      return;
    }
    void this.#feedAsync();
  }

  #feedLater(): void {
    if (this.#feedQueued) return;
    this.#feedQueued = true;
    setImmediate(() => {
      this.#feedQueued = false;
      this.#feed();
    });
  }

  async #feedAsync(): Promise<void> {
    this.#reading = true;
    try {
      while (this.#room()) this.#submit(await this.#reader.read(this.#size()));
    } catch (err) {
      this.#inputFailed(err);
    }
    this.#reading = false;
    this.#maybeEnd();
  }

  // As in Python, an input that throws fails the call after the chunks already read have come back.
  #inputFailed(error: unknown): void {
    this.#inputError = { error };
    this.#reader.close();
  }

  #submit(items: ArrayLike<unknown>): void {
    // Items an input read was still bringing in when join() cut it are never sent.
    if (items.length === 0 || this.#finished || this.#cut) return;
    const { fn, fnId, star, timeout, retries } = this.#plan;
    const base = this.#count;
    const id = this.#host.reserve();
    const exclusive = timeout !== null || this.#plan.signal !== undefined;
    const job: ChunkJob = {
      id,
      call: this.id,
      owner: this,
      fnId,
      fn,
      items,
      star,
      base,
      timeout,
      retries,
      exclusive,
      state: 'queued',
      worker: 0,
      attempts: 0,
      times: null,
    };
    this.#inflight.set(id, { seq: this.#seq++, base, size: items.length, sentAt: performance.now(), job });
    this.#count += items.length;
    this.#host.submit(job);
  }

  #maybeEnd(): void {
    // A cut call does not wait for a read in progress: the input may never yield again.
    if (this.#finished || !this.#reader.done || this.#inflight.size > 0 || (this.#reading && !this.#cut))
      return;
    this.#finished = true;
    this.#plan.signal?.removeEventListener('abort', this.#onAbort);
    this.#host.forget(this);
    if (this.#cut) {
      this.#trace?.error(this.#cut.error);
      this.#consumer.fail(this.#cut.error);
    } else if (this.#inputError) {
      this.#trace?.error(this.#inputError.error);
      this.#consumer.fail(this.#inputError.error);
    } else {
      this.#trace?.end(this.#count, this.#failed);
      // The last chunk may finish before the input is found to be at its end: the last report has the total.
      if (this.#progressTotal === undefined && this.#done > 0)
        this.#plan.onProgress?.(this.#done, this.#count, this.#failed);
      this.#consumer.end(this.#count);
    }
  }
}
