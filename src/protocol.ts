// The messages between the pool and a worker: one tagged union per direction, data only.
import type { TransferListItem } from 'node:worker_threads';
import type { WireError } from './errors.js';

/** How a function travels: as its source text, or by module URL and registration key (like pickle's by-name). */
export type FnRef =
  | { kind: 'inline'; source: string; name: string }
  | { kind: 'module'; url: string; key: string };

/** Items of a chunk as they cross: a plain array, or a Float64Array when every item is a number (far cheaper to copy). */
export type WireItems = unknown[] | Float64Array;

/** Where a chunk's numbers sit in its message's one shared Float64Array. */
export interface PackedRef {
  at: number;
  n: number;
}

/** Items or values inside a batch message: a plain array, or a reference into the message's numbers. */
export type BatchItems = unknown[] | PackedRef;

export interface WireChunk {
  id: number;
  fn: number;
  /** Input position of the chunk's first item, so errors can name the item. */
  base: number;
  star: boolean;
  items: BatchItems;
}

export type ToWorker =
  | { type: 'init'; workerId: number; initializer: FnRef | null; initargs: unknown[] }
  | { type: 'run'; fns: Array<[number, FnRef]>; chunks: WireChunk[]; numbers: Float64Array | null }
  | { type: 'stop' };

export type WireOutcome =
  | { id: number; ok: true; values: BatchItems }
  | { id: number; ok: false; error: WireError };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-failed'; error: WireError }
  | { type: 'results'; results: WireOutcome[]; numbers: Float64Array | null; busyMs: number }
  /** Sent on the way out (process.exit or an uncaught exception): flushes results and names the running chunk. */
  | {
      type: 'dying';
      running: number | null;
      results: WireOutcome[];
      numbers: Float64Array | null;
      reason: WireError | null;
      code: number | null;
    };

const PACK_MIN = 8;

/** Packs an all-number array into a Float64Array; anything else travels as it is. */
export function packItems(items: ArrayLike<unknown>): WireItems {
  if (items instanceof Float64Array) return items;
  const n = items.length;
  const plain = (): unknown[] => (Array.isArray(items) ? items : Array.from(items));
  if (n < PACK_MIN) return plain();
  for (let i = 0; i < n; i++) if (typeof items[i] !== 'number') return plain();
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = items[i] as number;
  return out;
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

  pack(items: ArrayLike<unknown>): BatchItems {
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

/** The items of a chunk as sent: the array itself, or a view into the message's numbers. */
export function unpack(items: BatchItems, numbers: Float64Array | null): ArrayLike<unknown> {
  if (Array.isArray(items)) return items;
  return numbers!.subarray(items.at, items.at + items.n);
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

/** Replaces transfer() marks in a list of items (one level deep) by their values, collecting the buffers. */
export function unwrapTransfers(items: unknown[], into: TransferListItem[]): unknown[] {
  let out = items;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (isTransfer(item)) {
      if (out === items) out = items.slice();
      out[i] = item.value;
      into.push(...item.list);
    } else if (Array.isArray(item)) {
      const inner = unwrapTransfers(item, into);
      if (inner !== item) {
        if (out === items) out = items.slice();
        out[i] = inner;
      }
    }
  }
  return out;
}
