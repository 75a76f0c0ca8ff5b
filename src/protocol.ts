// The messages between the pool and a worker: one tagged union per direction, data only.
import type { WireError } from './wire/errors.js';

/** How a function travels: as its source text, or by module URL and registration key (like pickle's by-name). */
export type FnRef = (
  | { kind: 'inline'; source: string; name: string }
  | { kind: 'module'; url: string; key: string }
) & {
  /** Run for `settle: true`: each item's outcome is returned as a SettledRecord (see settled.ts). */
  settle?: true;
};

/**
 * Items of a chunk as they cross: a plain array, or a Float64Array when every item is a number (far cheaper to
 * copy). To a thread, a numeric chunk may also cross as a view of shared memory, which is not copied at all.
 */
export type WireItems = unknown[] | Float64Array;

/**
 * A column of a batch: a plain array of numbers for a few chunks, a typed array for many (see column() in
 * wire/codec.ts).
 */
export type Column = number[] | Float64Array | Int32Array | Uint8Array;

/**
 * A batch of chunks in columns: one column per field instead of one object per chunk, so a batch of thousands
 * of tiny tasks costs a handful of objects to copy. See ChunkKind for what `items[i]` holds.
 */
export interface ChunkBatch {
  ids: Column;
  fnIds: Column;
  /** Input position of each chunk's first item, so errors can name the item. */
  bases: Column;
  kinds: Column;
  items: unknown[];
  /** The numbers of every PACKED chunk, one after another. */
  numbers: Float64Array | null;
  /**
   * The shared pages that SHARED chunks read, each sent once per batch however many chunks read it (a typed
   * array per chunk would cost the message a host object each), with where each SHARED chunk starts.
   */
  pages: SharedArrayBuffer[] | null;
  /** For each SHARED chunk: page index × 2^32 + its first item's index in that page. */
  offsets: Float64Array | null;
  /**
   * Whether the pool sent this batch well ahead (slow chunks, see batchRoom in runtime/schedule.ts): then
   * it is not waiting on these chunks' results to send more, and the worker may hold them a while.
   */
  hold: boolean;
  /**
   * For a batch to a thread (but not of an exclusive chunk): one shared cell per chunk (see Claim), through
   * which the worker claims each chunk as it starts it and the pool may take back the ones it has not started.
   * Mostly the cells are the worker's own, sent once in 'init' and reused (see ClaimRing): then `claims` is
   * null and `claimAt` is where the batch's cells start there, one after another, wrapping around at its end.
   * When the worker's cells have no room left, the batch brings its own in `claims`, from index 0.
   */
  claims: Int32Array | null;
  /** Where this batch's cells start in the worker's own claim cells; -1 when they are not there. */
  claimAt: number;
}

/**
 * The states of a chunk's claim cell. A worker moves a cell from QUEUED to STARTED just before it runs the
 * chunk; the pool moves it from QUEUED to REVOKED to take the chunk back (for an idle worker, because the chunk
 * was cancelled, or to run it elsewhere when the worker died). Both use compare-and-exchange, so exactly one of them wins, and a revoked chunk never
 * runs on that worker and is never reported by it.
 */
export const Claim = { QUEUED: 0, STARTED: 1, REVOKED: 2 } as const;

/** How a chunk's items travel in a ChunkBatch. */
export const ChunkKind = {
  /** items[i] is the chunk's list of items. */
  ITEMS: 0,
  /** items[i] is a list of argument tuples (starmap). */
  STAR: 1,
  /** items[i] is a count; the items are the next that many of `numbers`. */
  PACKED: 2,
  /** items[i] is one argument tuple: the whole chunk of an apply. */
  APPLY: 3,
  /** items[i] is a count; the items are that many numbers of a shared page, from offsets[i] (threads only). */
  SHARED: 4,
} as const;

/** A batch of outcomes in columns, as ChunkBatch. See OutcomeKind for what `values[i]` holds. */
export interface OutcomeBatch {
  ids: Column;
  kinds: Column;
  values: unknown[];
  numbers: Float64Array | null;
  /** Milliseconds the worker spent running these chunks: what their items cost, without any waiting. */
  ms: number;
  /** When the worker built this message, in ms since the epoch by its clock (0: it measured nothing). */
  at: number;
  /**
   * How long before `at` each chunk started, and how long it ran, in whole microseconds (-1 and 0: it did not
   * run). Whole numbers arrive as small integers, where fractions of a millisecond would cost the receiving
   * side a heap number each, two per chunk.
   */
  startsUs: number[];
  runsUs: number[];
  /** Time the worker spent building and posting its results messages since it last reported (ms). */
  copyMs: number;
  /** The worker's V8 heap in use, in bytes, when measured (now and then); 0 when not measured for this batch. */
  heap: number;
}

/** What a worker measured of the chunks in an OutcomeBatch (see its fields of the same names). */
export interface OutcomeTimes {
  at: number;
  startsUs: number[];
  runsUs: number[];
  copyMs: number;
  heap: number;
}

export const OutcomeKind = {
  /** values[i] is the list of results. */
  VALUES: 0,
  /** values[i] is a count; the results are the next that many of `numbers`. */
  PACKED: 1,
  /** values[i] is the WireError. */
  ERROR: 2,
  /** values[i] is the one result of a one-item chunk. */
  SINGLE: 3,
  /** values[i] is a count; the worker wrote the results into the chunk's shared page (see sharedResults). */
  SHARED: 4,
} as const;

export type ToWorker =
  | {
      type: 'init';
      workerId: number;
      initializer: FnRef | null;
      initargs: unknown[];
      /** A thread's own claim cells, which its batches then use (see ChunkBatch.claimAt); null for a process. */
      claims: Int32Array | null;
    }
  | { type: 'run'; fns: Array<[number, FnRef]>; batch: ChunkBatch }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-failed'; error: WireError }
  | { type: 'results'; batch: OutcomeBatch }
  /** Sent on the way out (process.exit or an uncaught exception): flushes results and names the running chunk. */
  | {
      type: 'dying';
      running: number | null;
      batch: OutcomeBatch;
      reason: WireError | null;
      code: number | null;
    };

/** A chunk as the pool hands it to the wire. */
export interface ChunkIn {
  id: number;
  fnId: number;
  base: number;
  star: boolean;
  items: ArrayLike<unknown>;
}

/** A chunk as the worker runs it. */
export interface ChunkOut {
  id: number;
  fn: number;
  base: number;
  star: boolean;
  items: ArrayLike<unknown>;
  /** The first chunk of its batch: results held so far go out before it starts. */
  first: boolean;
  /** From a batch sent well ahead: its results may be held (see ChunkBatch.hold). */
  hold: boolean;
  /** The chunk's claim cells (see Claim), or null; its own cell is at `index`. */
  claims: Int32Array | null;
  index: number;
}

/**
 * One item's outcome in a `settle: true` call, as a worker returns it in place of the item's value: the value,
 * or the error as errors cross. `deep`: the value nests deeper than the pool could read back; the pool, which
 * knows the item's position, names it.
 */
export type SettledRecord =
  | { ok: true; value: unknown }
  | { ok: false; error: WireError }
  | { ok: false; deep: true };

/** An outcome as the worker produces it (a Float64Array: results written to the chunk's shared page). */
export type Outcome =
  | { id: number; ok: true; values: unknown[] | Float64Array }
  | { id: number; ok: false; error: WireError };
