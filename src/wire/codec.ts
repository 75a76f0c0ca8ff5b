// Batches in columns: how chunks and outcomes are packed into the messages of protocol.ts and read back.
import type { TransferListItem } from 'node:worker_threads';
import {
  type ChunkBatch,
  type ChunkIn,
  ChunkKind,
  type ChunkOut,
  type Column,
  type Outcome,
  type OutcomeBatch,
  OutcomeKind,
  type OutcomeTimes,
  type WireItems,
} from '../protocol.js';
import type { WireError } from './errors.js';
import { isSharedView } from './shared.js';
import { isTransfer, unwrapTransfers } from './transfer.js';

const PAGE_INDEX = 2 ** 32;

/**
 * Up to this many entries a batch's columns travel as plain arrays, above it as typed arrays. Each typed array
 * is a buffer of its own that both sides clone apart, about a microsecond more per column, which a short array
 * of small numbers does not cost; a long one costs a step per number, which a buffer does not. Measured on
 * Node 24, a send and receive of four columns: 1.8 against 3.1 µs for one chunk, 2.4 against 4.1 µs for 16,
 * 5.1 against 3.7 µs for 64.
 */
const COLUMN_ARRAY_MAX = 16;

/** A column filled as a plain array (packed, so that it clones densely), typed if long. */
function column(values: number[], Typed: { from(values: number[]): Exclude<Column, number[]> }): Column {
  return values.length <= COLUMN_ARRAY_MAX ? values : Typed.from(values);
}

/** How a batch is sent: see encodeChunks, and ChunkBatch for `hold`, `claims` and `claimAt`. */
export interface EncodeOptions {
  /** The receiver is a thread of this process: numeric chunks that view shared memory travel as they are. */
  share: boolean;
  hold?: boolean;
  claims?: Int32Array | null;
  claimAt?: number;
}

/**
 * Puts chunks into columns; buffers marked with transfer() are collected into `moved`. With `share` (the
 * receiver is a thread of this process), numeric chunks that are views of shared memory travel as they are.
 * The chunks' claim cells (see ChunkBatch.claims) are `claims` from index 0, or the worker's own from `claimAt`.
 */
export function encodeChunks(
  chunks: readonly ChunkIn[],
  moved: TransferListItem[],
  { share, hold = false, claims = null, claimAt = -1 }: EncodeOptions,
): ChunkBatch {
  const n = chunks.length;
  const ids: number[] = [];
  const fnIds: number[] = [];
  const bases: number[] = [];
  const kinds: number[] = [];
  const items: unknown[] = new Array(n);
  let capacity = 0;
  for (const c of chunks) if (!c.star && !(share && isSharedView(c.items))) capacity += c.items.length;
  const packer = new Packer(capacity);
  let pages: SharedArrayBuffer[] | null = null;
  let offsets: Float64Array | null = null;
  for (let i = 0; i < n; i++) {
    const c = chunks[i]!;
    ids.push(c.id);
    fnIds.push(c.fnId);
    bases.push(c.base);
    if (c.star) {
      const tuples = c.items as unknown[];
      if (tuples.length === 1 && Array.isArray(tuples[0])) {
        kinds.push(ChunkKind.APPLY);
        items[i] = unwrapTransfers(tuples[0], moved);
      } else {
        kinds.push(ChunkKind.STAR);
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
      kinds.push(ChunkKind.SHARED);
      items[i] = c.items.length;
      offsets[i] = p * PAGE_INDEX + c.items.byteOffset / Float64Array.BYTES_PER_ELEMENT;
      continue;
    }
    const packed = packer.pack(c.items);
    if (Array.isArray(packed)) {
      kinds.push(ChunkKind.ITEMS);
      items[i] = unwrapTransfers(packed, moved);
    } else {
      kinds.push(ChunkKind.PACKED);
      items[i] = packed.n;
    }
  }
  return {
    ids: column(ids, Float64Array),
    fnIds: column(fnIds, Int32Array),
    bases: column(bases, Float64Array),
    kinds: column(kinds, Uint8Array),
    items,
    numbers: packer.finish(),
    pages,
    offsets,
    hold,
    claims,
    claimAt,
  };
}

/** Reads chunks back out of their columns; `own`: the worker's own claim cells, sent in 'init'. */
export function decodeChunks(
  batch: ChunkBatch,
  each: (chunk: ChunkOut) => void,
  own: Int32Array | null = null,
): void {
  const { ids, fnIds, bases, kinds, items, numbers, pages, offsets, claimAt } = batch;
  const inOwn = batch.claims === null && claimAt >= 0;
  if (inOwn && own === null)
    throw new Error('mpool internal: a batch names claim cells the worker was not sent');
  const claims = inOwn ? own : batch.claims;
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
      claims,
      index: inOwn ? (claimAt + i) % own!.length : i,
    });
  }
}

/**
 * Puts outcomes into columns; results marked with transfer() have their buffers collected into `moved`.
 * `times`: when each chunk started and how long it ran, in the order of `outcomes` (none: not measured).
 */
export function encodeOutcomes(
  outcomes: readonly Outcome[],
  moved: TransferListItem[],
  times: OutcomeTimes | null = null,
): OutcomeBatch {
  const n = outcomes.length;
  const ids: number[] = [];
  // The worker's own arrays travel as they are: small arrays of small integers clone cheaply.
  const startsUs = times?.startsUs ?? new Array<number>(n).fill(-1);
  const runsUs = times?.runsUs ?? new Array<number>(n).fill(0);
  let us = 0;
  for (let i = 0; i < n; i++) us += runsUs[i]!;
  const kinds: number[] = [];
  const values: unknown[] = new Array(n);
  let capacity = 0;
  for (const o of outcomes) if (o.ok && !isSharedView(o.values)) capacity += o.values.length;
  const packer = new Packer(capacity);
  for (let i = 0; i < n; i++) {
    const o = outcomes[i]!;
    ids.push(o.id);
    if (!o.ok) {
      kinds.push(OutcomeKind.ERROR);
      values[i] = o.error;
    } else if (isSharedView(o.values)) {
      kinds.push(OutcomeKind.SHARED);
      values[i] = o.values.length;
    } else if (o.values.length === 1) {
      kinds.push(OutcomeKind.SINGLE);
      const value = o.values[0];
      values[i] = isTransfer(value) ? unwrapTransfers([value], moved)[0] : value;
    } else {
      const packed = packer.pack(o.values);
      if (Array.isArray(packed)) {
        kinds.push(OutcomeKind.VALUES);
        values[i] = unwrapTransfers(packed, moved);
      } else {
        kinds.push(OutcomeKind.PACKED);
        values[i] = packed.n;
      }
    }
  }
  const copyMs = times?.copyMs ?? 0;
  const at = times?.at ?? 0;
  const heap = times?.heap ?? 0;
  return {
    ids: column(ids, Float64Array),
    kinds: column(kinds, Uint8Array),
    values,
    numbers: packer.finish(),
    ms: us / 1000,
    at,
    startsUs,
    runsUs,
    copyMs,
    heap,
  };
}

/**
 * Reads outcomes back out of their columns: `values` for a success, the WireError for a failure, and the
 * outcome's index in the batch (for its start and run time). `shared` gives a SHARED outcome's results: the
 * sender knows which chunk (and so which shared page) an id was.
 */
export function decodeOutcomes(
  batch: OutcomeBatch,
  each: (id: number, ok: boolean, valuesOrError: ArrayLike<unknown> | WireError, index: number) => void,
  shared: (id: number) => ArrayLike<unknown> = noSharedPages,
): void {
  const { ids, kinds, values, numbers } = batch;
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const kind = kinds[i];
    if (kind === OutcomeKind.ERROR) each(ids[i]!, false, values[i] as WireError, i);
    else if (kind === OutcomeKind.SHARED) each(ids[i]!, true, shared(ids[i]!), i);
    else if (kind === OutcomeKind.SINGLE) each(ids[i]!, true, [values[i]], i);
    else if (kind === OutcomeKind.PACKED) {
      const n = values[i] as number;
      each(ids[i]!, true, numbers!.subarray(at, at + n), i);
      at += n;
    } else each(ids[i]!, true, values[i] as unknown[], i);
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
