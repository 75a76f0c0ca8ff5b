// How much work each worker gets: batch sizes and prefetching, from each function's measured costs. The
// local executor owns the workers and the messages; this decides, from what it measured, how many chunks go.
import type { ChunkJob } from '../executor.js';
import {
  BATCH_MAX,
  BATCH_TARGET_MS,
  COPY_BOUND,
  ITEM_COST_HALF_LIFE_MS,
  PREFETCH_BELOW_MS,
  PREFETCH_SLOW_MS,
  ROBBABLE_SLOW_MS,
  SLOW_CHUNK_MS,
} from '../pace.js';

/** What a report says of its function's cost per item: so many items ran in `ms` (see settleBatch). */
export interface ItemSample {
  items: number;
  ms: number;
}

/**
 * What each function costs: per chunk as the pool sees it (time between a worker's reports, copying
 * included), per chunk and per item as its workers ran it, and how many reports these rest on.
 */
export class ChunkCosts {
  readonly #ms = new Map<number, number>();
  /** Per function: milliseconds per item, and how many items that rests on, the older fading (see learn). */
  readonly #items = new Map<number, { perItem: number; weight: number }>();
  readonly #runMs = new Map<number, number>();
  readonly #reports = new Map<number, number>();

  /** Milliseconds per chunk of `fnId`, or undefined before its first report. */
  ms(fnId: number): number | undefined {
    return this.#ms.get(fnId);
  }

  reports(fnId: number): number {
    return this.#reports.get(fnId) ?? 0;
  }

  /** Milliseconds per item of `fnId`, or undefined before a report of it tells one (see ItemSample). */
  msPerItem(fnId: number): number | undefined {
    return this.#items.get(fnId)?.perItem;
  }

  /** Milliseconds a chunk of `fnId` runs in its worker, without any copying or waiting. */
  runMs(fnId: number): number | undefined {
    return this.#runMs.get(fnId);
  }

  /** `perChunk` as the pool sees it; `ranMs`: what the worker measured for `count` chunks; `sample`: per item. */
  learn(fnId: number, perChunk: number, count: number, ranMs: number, sample: ItemSample): void {
    smooth(this.#ms, fnId, perChunk, 0.3);
    // A worker's own times are steadier, except for a GC pause or preemption inside a chunk: those move
    // this estimate only a little.
    smooth(this.#runMs, fnId, ranMs / count, 0.1);
    // Per item: good news at once (a function runs faster once V8 has optimized it), bad news by the items it
    // rests on. A chunk of x * 2 that a preemption held up for 6 ms, reported alone, once moved the estimate as
    // much as a report of 700 chunks did, and kept tiny chunks from merging; now it weighs its 20 items against
    // the many thousands before it. Those fade by half every ITEM_COST_HALF_LIFE_MS of run time, so that a
    // function whose items grow dearer is followed.
    if (sample.items > 0) {
      const perItem = sample.ms / sample.items;
      const seen = this.#items.get(fnId);
      if (seen === undefined) this.#items.set(fnId, { perItem, weight: sample.items });
      else {
        const weight = seen.weight * 0.5 ** (sample.ms / ITEM_COST_HALF_LIFE_MS);
        if (perItem < seen.perItem) seen.perItem = perItem;
        else seen.perItem = (seen.perItem * weight + sample.ms) / (weight + sample.items);
        seen.weight = weight + sample.items;
      }
    }
    this.#reports.set(fnId, this.reports(fnId) + 1);
  }
}

// Believe good news at once (the first chunk pays for compiling and loading), bad news gradually: with
// weight `bad`.
function smooth(estimates: Map<number, number>, fnId: number, sample: number, bad: number): void {
  const old = estimates.get(fnId);
  estimates.set(fnId, old === undefined || sample < old ? sample : old * (1 - bad) + sample * bad);
}

/** A batch sent to a worker: how many of its outcomes are still owed. */
export interface Sent {
  owed: number;
}

/** What the policy needs to know of one worker. */
export interface SlotLoad {
  /** The batches still owing outcomes, oldest first. */
  batches: readonly Sent[];
  /** Whether a batch in flight carries a timeout. */
  timed: boolean;
  /** When the worker last reported (or started on an empty queue). */
  lastAt: number;
  /** The function of the latest batch sent. */
  lastFn: number | undefined;
}

/**
 * Whether a busy worker may get a second batch now. Only short, untimed chunks: a timeout's clock must start
 * when its chunk starts, and a long chunk queued behind another could wait while some other worker is free.
 * And only once the estimate rests on a few reports from every worker. `robbable`: the pool can take back
 * what the worker has not started (see Claim in protocol.ts), so nothing queued there can be stranded.
 */
export function canPrefetch(
  costs: ChunkCosts,
  slot: SlotLoad,
  next: ChunkJob,
  workers: number,
  now: number,
  robbable = false,
): boolean {
  if (slot.batches.length !== 1 || slot.timed || !steady(costs, next, workers)) return false;
  if (robbable) return true;
  // A worker already running longer than its batch should take is on something slow: queue nothing behind it.
  const perChunk = costs.ms(next.fnId)!;
  const expected = slot.batches[0]!.owed * (costs.ms(slot.lastFn ?? next.fnId) ?? perChunk);
  return now - slot.lastAt <= expected * 1.5 + 0.2;
}

/**
 * Whether chunks like `next` may be sent ahead of need at all: short and untimed, with an estimate that rests
 * on a few reports from every worker. An idle thread is then sent such a batch at once, as if prefetched:
 * its unstarted chunks can be taken back, and a first batch of one chunk would cost a message each way.
 */
export function steady(costs: ChunkCosts, next: ChunkJob, workers: number): boolean {
  if (next.exclusive) return false;
  const perChunk = costs.ms(next.fnId);
  return perChunk !== undefined && perChunk < PREFETCH_BELOW_MS && costs.reports(next.fnId) >= 2 * workers;
}

/**
 * Whether chunks of `fnId` run long enough in their worker that a batch of them may have its results held,
 * and go deep ahead of need; not chunks that cost mostly copying (see COPY_BOUND).
 */
export function holdsResults(costs: ChunkCosts, fnId: number): boolean {
  const runMs = costs.runMs(fnId) ?? 0;
  return runMs >= SLOW_CHUNK_MS && (costs.ms(fnId) ?? 0) < COPY_BOUND * runMs;
}

/**
 * How many chunks the next batch for one worker holds (at least 1), and whether it goes deep ahead of need
 * (then the worker may hold its results: ChunkBatch.hold). `queued`: chunks waiting; `workers`: all of them;
 * `robbable`: as for canPrefetch; `served`: how many workers split `queued` in this pass (robbable only).
 */
export function batchRoom(
  costs: ChunkCosts,
  next: ChunkJob,
  queued: number,
  workers: number,
  prefetch: boolean,
  robbable = false,
  served = workers,
): { room: number; deep: boolean } {
  const perChunk = costs.ms(next.fnId);
  let room = perChunk === undefined ? 1 : Math.floor(BATCH_TARGET_MS / Math.max(perChunk, 0.001));
  // A fair share of what is queued, counting busy workers too: an idle worker must not take it all.
  room = Math.min(room, BATCH_MAX, Math.ceil(queued / workers));
  // A prefetched batch of slower chunks holds PREFETCH_SLOW_MS of work, but never more than a quarter of a
  // worker's share of the queue, so that near the end no worker is left with a queue of its own while
  // another runs dry (A/B, 200 tasks of 4 ms: a half share cost 1-2 % against a quarter; an eighth or less,
  // more wake-ups again).
  const runMs = costs.runMs(next.fnId) ?? 0;
  const deep = prefetch && holdsResults(costs, next.fnId);
  // A worker the pool can take unstarted chunks back from gets up to its whole share at once: a worker that
  // runs dry takes half of another's unstarted chunks (LocalExecutor's #steal), so the end balances itself,
  // and the pool's thread is not woken to hand out ever smaller batches near the end (200 tasks of 4 ms on 2
  // workers: 48 results messages and 42 batches a run at commit ca6dbba, 19 and 6 with this policy and the
  // worker loop's at d140144). Its depth is counted in the larger of the run time and the time the pool
  // sees per chunk, which includes copying the arguments.
  if (deep && robbable) {
    const depth = Math.floor(ROBBABLE_SLOW_MS / Math.max(runMs, perChunk ?? 0));
    room = Math.max(room, Math.min(BATCH_MAX, depth, Math.ceil(queued / Math.max(1, served))));
  } else if (deep) {
    const tail = Math.floor(queued / (4 * workers));
    room = Math.max(room, Math.min(Math.floor(PREFETCH_SLOW_MS / runMs), tail));
  }
  return { room: Math.max(1, room), deep };
}
