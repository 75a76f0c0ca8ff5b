// The local executor's bookkeeping of what waits and what it costs: the run queue (chunks in submission
// order, behind a front lane for chunks that must go first: ones whose worker died before starting them,
// retries, and the rest of a batch that could not be sent), and each function's measured chunk cost.
import type { ChunkJob } from '../executor.js';

export class RunQueue {
  #queue: ChunkJob[] = [];
  #head = 0;
  #front: ChunkJob[] = [];

  get size(): number {
    return this.#front.length + this.#queue.length - this.#head;
  }

  push(job: ChunkJob): void {
    this.#queue.push(job);
  }

  /** Queues a chunk ahead of everything submitted, after other such chunks. */
  pushFront(job: ChunkJob): void {
    this.#front.push(job);
  }

  /** Puts a chunk back at the very front (it was taken, but not sent). */
  putBack(job: ChunkJob): void {
    this.#front.unshift(job);
  }

  peek(): ChunkJob | undefined {
    return this.#front[0] ?? this.#queue[this.#head];
  }

  take(): ChunkJob | undefined {
    if (this.#front.length > 0) return this.#front.shift();
    if (this.#head === this.#queue.length) return undefined;
    const job = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as unknown as ChunkJob;
    // Drop the taken part now and then, so a long queue does not shift on every take.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return job;
  }

  /** Removes the chunks with these ids. */
  drop(ids: ReadonlySet<number>): void {
    this.#queue = this.#queue.slice(this.#head).filter((job) => !ids.has(job.id));
    this.#head = 0;
    this.#front = this.#front.filter((job) => !ids.has(job.id));
  }

  clear(): void {
    this.#queue = [];
    this.#head = 0;
    this.#front = [];
  }
}

/**
 * What a chunk of each function costs, as the pool sees it (time between a worker's reports, copying
 * included), and how many reports that estimate rests on.
 */
export class ChunkCosts {
  readonly #ms = new Map<number, number>();
  readonly #itemMs = new Map<number, number>();
  readonly #runMs = new Map<number, number>();
  readonly #reports = new Map<number, number>();

  /** Milliseconds per chunk of `fnId`, or undefined before its first report. */
  ms(fnId: number): number | undefined {
    return this.#ms.get(fnId);
  }

  reports(fnId: number): number {
    return this.#reports.get(fnId) ?? 0;
  }

  /** Milliseconds per item of `fnId`, or undefined before its first report. */
  msPerItem(fnId: number): number | undefined {
    return this.#itemMs.get(fnId);
  }

  /** Milliseconds a chunk of `fnId` runs in its worker, without any copying or waiting. */
  runMs(fnId: number): number | undefined {
    return this.#runMs.get(fnId);
  }

  /** `perChunk` as the pool sees it; `ranMs` and `items`: what the worker measured, for that many items. */
  learn(fnId: number, perChunk: number, count: number, ranMs: number, items: number): void {
    smooth(this.#ms, fnId, perChunk, 0.3);
    // A worker's own times are steadier, except for a GC pause or preemption inside a chunk: those move
    // these estimates only a little.
    smooth(this.#runMs, fnId, ranMs / count, 0.1);
    if (items > 0) smooth(this.#itemMs, fnId, ranMs / items, 0.1);
    this.#reports.set(fnId, this.reports(fnId) + 1);
  }
}

// Believe good news at once (the first chunk pays for compiling and loading), bad news gradually: with
// weight `bad`.
function smooth(estimates: Map<number, number>, fnId: number, sample: number, bad: number): void {
  const old = estimates.get(fnId);
  estimates.set(fnId, old === undefined || sample < old ? sample : old * (1 - bad) + sample * bad);
}
