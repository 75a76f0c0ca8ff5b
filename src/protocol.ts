// The messages between the pool and a worker: one tagged union per direction, data only.
import type { TransferListItem } from 'node:worker_threads';
import type { WireError } from './errors.js';

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
 * A batch of chunks in columns: one typed array per field instead of one object per chunk, so a batch of
 * thousands of tiny tasks costs a handful of objects to copy. See ChunkKind for what `items[i]` holds.
 */
export interface ChunkBatch {
  ids: Float64Array;
  fnIds: Int32Array;
  /** Input position of each chunk's first item, so errors can name the item. */
  bases: Float64Array;
  kinds: Uint8Array;
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
   */
  claims: Int32Array | null;
}

/**
 * The states of a chunk's claim cell. A worker moves a cell from QUEUED to STARTED just before it runs the
 * chunk; the pool moves it from QUEUED to REVOKED to take the chunk back (for an idle worker, because the chunk
 * was cancelled, or to run it elsewhere when the worker died). Both use compare-and-exchange, so exactly one of them wins, and a revoked chunk never
 * runs on that worker and is never reported by it.
 */
export const Claim = { QUEUED: 0, STARTED: 1, REVOKED: 2 } as const;

/** Claim cells for `n` chunks, all QUEUED, in memory that the pool and a thread worker share. */
export function claimCells(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(n * Int32Array.BYTES_PER_ELEMENT));
}

/** The worker's side: whether it may start the chunk (false: the pool took it back). */
export function claim(cells: Int32Array, index: number): boolean {
  return Atomics.compareExchange(cells, index, Claim.QUEUED, Claim.STARTED) === Claim.QUEUED;
}

/** The pool's side: whether it took the chunk back before its worker started it. */
export function revoke(cells: Int32Array, index: number): boolean {
  return Atomics.compareExchange(cells, index, Claim.QUEUED, Claim.REVOKED) === Claim.QUEUED;
}

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

const PAGE_INDEX = 2 ** 32;

/** A batch of outcomes in columns, as ChunkBatch. See OutcomeKind for what `values[i]` holds. */
export interface OutcomeBatch {
  ids: Float64Array;
  kinds: Uint8Array;
  values: unknown[];
  numbers: Float64Array | null;
  /** Milliseconds the worker spent running these chunks: what their items cost, without any waiting. */
  ms: number;
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
  | { type: 'init'; workerId: number; initializer: FnRef | null; initargs: unknown[] }
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
  /** The batch's claim cells (see Claim), or null; this chunk's cell is at `index`. */
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

/**
 * Puts chunks into columns; buffers marked with transfer() are collected into `moved`. With `share` (the
 * receiver is a thread of this process), numeric chunks that are views of shared memory travel as they are.
 */
export function encodeChunks(
  chunks: readonly ChunkIn[],
  moved: TransferListItem[],
  share: boolean,
  hold = false,
  claims: Int32Array | null = null,
): ChunkBatch {
  const n = chunks.length;
  const ids = new Float64Array(n);
  const fnIds = new Int32Array(n);
  const bases = new Float64Array(n);
  const kinds = new Uint8Array(n);
  const items: unknown[] = new Array(n);
  let capacity = 0;
  for (const c of chunks) if (!c.star && !(share && isSharedView(c.items))) capacity += c.items.length;
  const packer = new Packer(capacity);
  let pages: SharedArrayBuffer[] | null = null;
  let offsets: Float64Array | null = null;
  for (let i = 0; i < n; i++) {
    const c = chunks[i]!;
    ids[i] = c.id;
    fnIds[i] = c.fnId;
    bases[i] = c.base;
    if (c.star) {
      const tuples = c.items as unknown[];
      if (tuples.length === 1 && Array.isArray(tuples[0])) {
        kinds[i] = ChunkKind.APPLY;
        items[i] = unwrapTransfers(tuples[0], moved);
      } else {
        kinds[i] = ChunkKind.STAR;
        items[i] = unwrapTransfers(tuples, moved);
      }
      continue;
    }
    if (share && isSharedView(c.items)) {
      const page = c.items.buffer as SharedArrayBuffer;
      pages ??= [];
      offsets ??= new Float64Array(n);
      let p = pages.indexOf(page);
      if (p < 0) p = pages.push(page) - 1;
      kinds[i] = ChunkKind.SHARED;
      items[i] = c.items.length;
      offsets[i] = p * PAGE_INDEX + c.items.byteOffset / Float64Array.BYTES_PER_ELEMENT;
      continue;
    }
    const packed = packer.pack(c.items);
    if (Array.isArray(packed)) {
      kinds[i] = ChunkKind.ITEMS;
      items[i] = unwrapTransfers(packed, moved);
    } else {
      kinds[i] = ChunkKind.PACKED;
      items[i] = packed.n;
    }
  }
  return { ids, fnIds, bases, kinds, items, numbers: packer.finish(), pages, offsets, hold, claims };
}

/** Reads chunks back out of their columns. */
export function decodeChunks(batch: ChunkBatch, each: (chunk: ChunkOut) => void): void {
  const { ids, fnIds, bases, kinds, items, numbers, pages, offsets } = batch;
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const kind = kinds[i];
    let list: ArrayLike<unknown>;
    if (kind === ChunkKind.PACKED) {
      const n = items[i] as number;
      list = numbers!.subarray(at, at + n);
      at += n;
    } else if (kind === ChunkKind.SHARED) {
      const offset = offsets![i]!;
      const page = pages![Math.floor(offset / PAGE_INDEX)]!;
      list = new Float64Array(
        page,
        (offset % PAGE_INDEX) * Float64Array.BYTES_PER_ELEMENT,
        items[i] as number,
      );
    } else if (kind === ChunkKind.APPLY) {
      list = [items[i]];
    } else {
      list = items[i] as unknown[];
    }
    each({
      id: ids[i]!,
      fn: fnIds[i]!,
      base: bases[i]!,
      star: kind === ChunkKind.STAR || kind === ChunkKind.APPLY,
      items: list,
      first: i === 0,
      hold: batch.hold,
      claims: batch.claims,
      index: i,
    });
  }
}

/**
 * Puts outcomes into columns; results marked with transfer() have their buffers collected into `moved`. `ms`:
 * the time the worker spent running them.
 */
export function encodeOutcomes(
  outcomes: readonly Outcome[],
  moved: TransferListItem[],
  ms = 0,
): OutcomeBatch {
  const n = outcomes.length;
  const ids = new Float64Array(n);
  const kinds = new Uint8Array(n);
  const values: unknown[] = new Array(n);
  let capacity = 0;
  for (const o of outcomes) if (o.ok && !isSharedView(o.values)) capacity += o.values.length;
  const packer = new Packer(capacity);
  for (let i = 0; i < n; i++) {
    const o = outcomes[i]!;
    ids[i] = o.id;
    if (!o.ok) {
      kinds[i] = OutcomeKind.ERROR;
      values[i] = o.error;
    } else if (isSharedView(o.values)) {
      kinds[i] = OutcomeKind.SHARED;
      values[i] = o.values.length;
    } else if (o.values.length === 1) {
      kinds[i] = OutcomeKind.SINGLE;
      const value = o.values[0];
      values[i] = isTransfer(value) ? unwrapTransfers([value], moved)[0] : value;
    } else {
      const packed = packer.pack(o.values);
      if (Array.isArray(packed)) {
        kinds[i] = OutcomeKind.VALUES;
        values[i] = unwrapTransfers(packed, moved);
      } else {
        kinds[i] = OutcomeKind.PACKED;
        values[i] = packed.n;
      }
    }
  }
  return { ids, kinds, values, numbers: packer.finish(), ms };
}

/**
 * Reads outcomes back out of their columns: `values` for a success, the WireError for a failure. `shared`
 * gives a SHARED outcome's results: the sender knows which chunk (and so which shared page) an id was.
 */
export function decodeOutcomes(
  batch: OutcomeBatch,
  each: (id: number, ok: boolean, valuesOrError: ArrayLike<unknown> | WireError) => void,
  shared: (id: number) => ArrayLike<unknown> = noSharedPages,
): void {
  const { ids, kinds, values, numbers } = batch;
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const kind = kinds[i];
    if (kind === OutcomeKind.ERROR) each(ids[i]!, false, values[i] as WireError);
    else if (kind === OutcomeKind.SHARED) each(ids[i]!, true, shared(ids[i]!));
    else if (kind === OutcomeKind.SINGLE) each(ids[i]!, true, [values[i]]);
    else if (kind === OutcomeKind.PACKED) {
      const n = values[i] as number;
      each(ids[i]!, true, numbers!.subarray(at, at + n));
      at += n;
    } else each(ids[i]!, true, values[i] as unknown[]);
  }
}

const PACK_MIN = 8;

/** Packs one all-number array into a Float64Array; anything else travels as it is (one chunk, one Packer). */
export function packItems(items: ArrayLike<unknown>): WireItems {
  if (items instanceof Float64Array) return isSharedView(items) ? items.slice() : items;
  const packer = new Packer(items.length);
  const packed = packer.pack(items);
  return Array.isArray(packed) ? packed : packer.finish()!;
}

function noSharedPages(id: number): never {
  throw new Error(`mpool internal: chunk ${id} reported shared results, but this side sent no shared pages`);
}

/**
 * A page for a numeric input's items, in shared memory: the view covers the first half, and a chunk's results
 * go to the same offset in the second half (sharedResults). A thread worker reads its items and writes its
 * results in place, so a numeric map sends no numbers through messages at all.
 */
export function sharedPage(size: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(2 * size * Float64Array.BYTES_PER_ELEMENT), 0, size);
}

/** Where the results of a chunk whose items are a view of a sharedPage go. */
export function sharedResults(items: Float64Array): Float64Array {
  return new Float64Array(items.buffer, items.byteOffset + items.buffer.byteLength / 2, items.length);
}

/** Whether items (or results) are a view of a sharedPage. */
export function isSharedView(items: ArrayLike<unknown>): items is Float64Array {
  return items instanceof Float64Array && items.buffer instanceof SharedArrayBuffer;
}

/**
 * Packs the all-number arrays of one batch message into one Float64Array, which is then moved (transferred),
 * not copied: for numeric maps this replaces most of the cost of structured clone.
 */
export class Packer {
  readonly #buffer: Float64Array | null;
  #pos = 0;

  /** `capacity`: the most numbers the batch could hold (the sum of its arrays' lengths). */
  constructor(capacity: number) {
    this.#buffer = capacity >= PACK_MIN ? new Float64Array(capacity) : null;
  }

  pack(items: ArrayLike<unknown>): unknown[] | { at: number; n: number } {
    const buffer = this.#buffer;
    const n = items.length;
    if (items instanceof Float64Array && buffer !== null) {
      const at = this.#pos;
      buffer.set(items, at);
      this.#pos = at + n;
      return { at, n };
    }
    if (buffer === null || n < PACK_MIN) return Array.isArray(items) ? items : Array.from(items);
    const at = this.#pos;
    for (let i = 0; i < n; i++) {
      const value = items[i];
      if (typeof value !== 'number') return Array.isArray(items) ? items : Array.from(items);
      buffer[at + i] = value;
    }
    this.#pos = at + n;
    return { at, n };
  }

  /** The numbers to send, or null when nothing was packed. */
  finish(): Float64Array | null {
    if (this.#buffer === null || this.#pos === 0) return null;
    return this.#pos === this.#buffer.length ? this.#buffer : this.#buffer.subarray(0, this.#pos);
  }
}

/** The transfer list for a message's numbers. */
export function transferList(
  numbers: Float64Array | null,
  extra: TransferListItem[] = [],
): TransferListItem[] {
  if (numbers !== null) extra.push(numbers.buffer as ArrayBuffer);
  return extra;
}

// A global brand rather than instanceof: the task's copy of mpool may be another module instance (src/dist).
const TRANSFER = Symbol.for('mpool.transfer');

/** A value to send with some of its buffers moved instead of copied; made by transfer(). */
export class Transfer<T = unknown> {
  readonly [TRANSFER] = true;
  constructor(
    readonly value: T,
    readonly list: readonly TransferListItem[],
  ) {}
}

function isTransfer(value: unknown): value is Transfer {
  return (
    typeof value === 'object' && value !== null && (value as { [TRANSFER]?: unknown })[TRANSFER] === true
  );
}

/**
 * Marks `value` so that the buffers in `list` are moved to the other side instead of copied (they become
 * unusable here). Use it on an argument, or return it from a task for its result. Thread workers move the
 * buffers; child processes copy them. A SharedArrayBuffer needs no marking: threads share it as it is.
 *
 * @example
 * await pool.apply(sum, [transfer(bytes, [bytes.buffer])]);
 */
export function transfer<T>(value: T, list: readonly TransferListItem[]): T {
  return new Transfer(value, list) as unknown as T;
}

// transfer() marks an item, a result, or an argument in an item's tuple: nowhere deeper. So the search goes
// one array level down and no further: a user's own nested, shared or cyclic arrays are not walked.
const TRANSFER_DEPTH = 1;

/** Whether a list of items holds transfer() marks where unwrapTransfers would find them. */
export function hasTransfers(items: ArrayLike<unknown>, depth = TRANSFER_DEPTH): boolean {
  if (!Array.isArray(items)) return false;
  return items.some(
    (item) => isTransfer(item) || (depth > 0 && Array.isArray(item) && hasTransfers(item, depth - 1)),
  );
}

/** Replaces transfer() marks in a list of items (one level deep) by their values, collecting the buffers. */
export function unwrapTransfers(
  items: unknown[],
  into: TransferListItem[],
  depth = TRANSFER_DEPTH,
): unknown[] {
  let out = items;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (isTransfer(item)) {
      if (out === items) out = items.slice();
      out[i] = item.value;
      into.push(...item.list);
    } else if (depth > 0 && Array.isArray(item)) {
      const inner = unwrapTransfers(item, into, depth - 1);
      if (inner !== item) {
        if (out === items) out = items.slice();
        out[i] = inner;
      }
    }
  }
  return out;
}
