// Chunking: Python's chunksize rules, lazy reading of (async) iterables, adaptive sizes, and the reorder buffer.
import { sharedPage } from './wire/shared.js';

/** Python's default for map over a sized input: ceil(len / (4 × workers)), at least 1. */
export function defaultChunksize(length: number, workers: number): number {
  return Math.max(1, Math.ceil(length / (4 * workers)));
}

// A map's chunks that each hold less work than this (as their worker measured it) run together as one.
const MERGE_TARGET_MS = 0.25;
// ...but every worker still gets at least this many chunks of the map, for balance.
const MERGE_MIN_CHUNKS_PER_WORKER = 8;

/**
 * The chunk size a map over `length` items really runs with: `chunksize`, or a whole multiple of it when its
 * chunks are measured to be tiny (`msPerItem`, from earlier chunks of the same function): about
 * MERGE_TARGET_MS of work each. A chunk of x => x * 2 over 1000 numbers is a few microseconds of work, less
 * than the pool's own bookkeeping for it (some 10 us a chunk); merged, the map costs the pool far less.
 * Python calls chunksize approximate; results, their order and errors are the same either way.
 */
export function mergedChunksize(
  chunksize: number,
  length: number,
  workers: number,
  msPerItem: number | undefined,
): number {
  if (msPerItem === undefined || msPerItem * chunksize >= MERGE_TARGET_MS) return chunksize;
  const wanted = Math.floor(MERGE_TARGET_MS / Math.max(msPerItem, 1e-9) / chunksize);
  const balanced = Math.floor(length / (MERGE_MIN_CHUNKS_PER_WORKER * workers) / chunksize);
  return chunksize * Math.max(1, Math.min(wanted, balanced));
}

export type Source<T> = Iterable<T> | AsyncIterable<T>;

export function isSource(value: unknown): value is Source<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'string') &&
    (typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function' ||
      typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
  );
}

// Items per page of a numeric input's column (1 MiB of items, and as much again for results).
export const COLUMN_PAGE = 1 << 17;
// Inputs from this many numbers on get whole pages, which a later map of any size up to a page can reuse.
const FULL_PAGE_FROM = 1 << 14;
// Pages a map reads ahead of the results it has copied out: a bigger input goes round these pages again, so
// its memory is written fresh once (page faults cost about as much as reading the numbers in) and stays
// this size however long the input.
export const PAGES_AHEAD = 4;
// Free pages a pool keeps for its next maps (each 2 MiB, unless one chunk needed more).
const KEEP_PAGES = PAGES_AHEAD;

/**
 * The shared pages of a pool's numeric maps, kept once a map is done with them so that the next map reuses
 * memory already mapped: a fresh page costs a page fault per 4 KiB the first time it is written, about as
 * much as reading the numbers in. Only pages whose map finished are given back: every chunk of it has
 * reported, so no worker can still write there.
 */
export class PageCache {
  #free: SharedArrayBuffer[] = [];

  /** A view of `size` numbers at the start of the smallest free page that holds them, or of a new page. */
  take(size: number): Float64Array {
    // Free pages are kept largest first (give), so the last one that fits is the smallest.
    for (let i = this.#free.length - 1; i >= 0; i--) {
      const page = this.#free[i]!;
      if (page.byteLength / 2 / Float64Array.BYTES_PER_ELEMENT >= size) {
        this.#free.splice(i, 1);
        return new Float64Array(page, 0, size);
      }
    }
    const capacity = size >= FULL_PAGE_FROM && size <= COLUMN_PAGE ? COLUMN_PAGE : size;
    return sharedPage(capacity).subarray(0, size);
  }

  /** Pages no worker uses any more; the largest KEEP_PAGES are kept. */
  give(pages: readonly SharedArrayBuffer[]): void {
    this.#free.push(...pages);
    this.#free.sort((a, b) => b.byteLength - a.byteLength);
    this.#free.length = Math.min(this.#free.length, KEEP_PAGES);
  }

  clear(): void {
    this.#free = [];
  }
}

/** Copies array[start..end) into `into`; false at the first item that is not a number. */
function readNumbers(array: readonly unknown[], start: number, end: number, into: Float64Array): boolean {
  for (let i = start; i < end; i++) {
    const value = array[i];
    if (typeof value !== 'number') return false;
    into[i - start] = value;
  }
  return true;
}

/** Reads an input lazily, a chunk at a time, only when asked: an infinite generator is fine. */
export class ChunkReader<T> {
  readonly #array: readonly T[] | null;
  #offset = 0;
  // Arrays of numbers are read straight into a shared column of doubles, a chunk at a time; each chunk is a
  // view of it. Thread workers read the views in place (nothing is copied or packed per chunk), processes get
  // them packed; one allocation per page instead of one per chunk keeps the garbage collector out of the way.
  #numeric: boolean;
  #column: Float64Array | null = null;
  #columnAt = 0;
  readonly #pages: PageCache | null;
  /**
   * Pages taken from #pages and not yet given back, each with how many of its chunks have results not yet
   * copied out (see release): a page goes back to the cache, for this reader's next chunks, once it has none
   * and the column has moved on.
   */
  readonly #taken = new Map<SharedArrayBuffer, number>();
  readonly #sync: Iterator<T> | null = null;
  readonly #async: AsyncIterator<T> | null = null;
  #done = false;

  /** `pages`: where numeric pages come from and go back to (recycle); without it each page is new. */
  constructor(source: Source<T>, pages: PageCache | null = null) {
    this.#pages = pages;
    this.#numeric = Array.isArray(source) && typeof source[0] === 'number';
    if (Array.isArray(source)) {
      this.#array = source;
      return;
    }
    this.#array = null;
    if (typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
      this.#async = (source as AsyncIterable<T>)[Symbol.asyncIterator]();
    } else {
      this.#sync = (source as Iterable<T>)[Symbol.iterator]();
    }
  }

  /** Whether the input is an array read as numbers (so far: it stops being one at its first non-number). */
  get numeric(): boolean {
    return this.#numeric;
  }

  /** The input's length when it is known up front (arrays), else undefined. */
  get length(): number | undefined {
    return this.#array?.length;
  }

  get done(): boolean {
    return this.#done;
  }

  /** Whether the next chunk can be read without waiting. */
  get synchronous(): boolean {
    return this.#async === null;
  }

  /** The next `size` items (fewer at the end), synchronously; only for synchronous sources. */
  readSync(size: number): ArrayLike<T> {
    const array = this.#array;
    if (array) {
      const start = this.#offset;
      const end = Math.min(start + size, array.length);
      this.#offset = end;
      if (end >= array.length) this.#done = true;
      if (this.#numeric) {
        const numbers = this.#reserve(end - start, array.length - start);
        if (readNumbers(array, start, end, numbers)) {
          const page = numbers.buffer as SharedArrayBuffer;
          const out = this.#taken.get(page);
          if (out !== undefined) this.#taken.set(page, out + 1);
          return numbers as unknown as ArrayLike<T>;
        }
        this.#numeric = false;
      }
      return array.slice(start, end);
    }
    const items: T[] = [];
    const it = this.#sync!;
    while (items.length < size) {
      const step = it.next();
      if (step.done) {
        this.#done = true;
        break;
      }
      items.push(step.value);
    }
    return items;
  }

  // The next `n` slots of the column, on a new page when this one is full (pages hold at most COLUMN_PAGE).
  #reserve(n: number, remaining: number): Float64Array {
    let column = this.#column;
    if (column === null || this.#columnAt + n > column.length) {
      const size = Math.max(n, Math.min(remaining, COLUMN_PAGE));
      if (this.#pages) {
        const done = column?.buffer as SharedArrayBuffer | undefined;
        this.#column = null;
        if (done && this.#taken.get(done) === 0) this.#giveBack(done);
        column = this.#column = this.#pages.take(size);
        this.#taken.set(column.buffer as SharedArrayBuffer, 0);
      } else {
        column = this.#column = sharedPage(size);
      }
      this.#columnAt = 0;
    }
    const at = this.#columnAt;
    this.#columnAt = at + n;
    return column.subarray(at, at + n);
  }

  async read(size: number): Promise<ArrayLike<T>> {
    if (this.#async === null) return this.readSync(size);
    const items: T[] = [];
    while (items.length < size) {
      const step = await this.#async.next();
      if (step.done) {
        this.#done = true;
        break;
      }
      items.push(step.value);
    }
    return items;
  }

  /** Pages holding chunks whose results are not yet copied out (see release): what the reader is ahead by. */
  get pagesAhead(): number {
    return this.#taken.size;
  }

  /**
   * A chunk read from the cache's pages has reported and its results are copied out: its page goes back to
   * the cache once that holds for all of its chunks. `reusable` false for a chunk whose page a worker may
   * still write (it was sent more than once, or its worker was lost): that page is never handed out again.
   */
  release(items: ArrayLike<unknown>, reusable: boolean): void {
    if (!(items instanceof Float64Array)) return;
    const page = items.buffer as SharedArrayBuffer;
    const out = this.#taken.get(page);
    if (out === undefined) return;
    if (!reusable) {
      this.#taken.delete(page);
      if (this.#column?.buffer === page) this.#column = null;
      return;
    }
    this.#taken.set(page, out - 1);
    if (out === 1 && this.#column?.buffer !== page) this.#giveBack(page);
  }

  #giveBack(page: SharedArrayBuffer): void {
    this.#taken.delete(page);
    this.#pages?.give([page]);
  }

  /**
   * Gives the pages this reader filled back to its cache. Only once every chunk read from them has reported,
   * and nothing reads the results there any more.
   */
  recycle(): void {
    this.#pages?.give([...this.#taken.keys()]);
    this.#taken.clear();
    this.#column = null;
  }

  /** Lets the input release its resources when the call stops early (a generator's finally runs). */
  close(): void {
    if (this.#done) return;
    this.#done = true;
    try {
      const closing = (this.#async ?? this.#sync)?.return?.();
      if (closing && typeof (closing as Promise<unknown>).catch === 'function') {
        (closing as Promise<unknown>).catch(() => {});
      }
    } catch {
      // An input that fails while closing has nothing more to give.
    }
  }
}

// Adaptive chunks aim at this much work each: long enough to amortise a message, short enough to balance.
const ADAPTIVE_TARGET_MS = 10;
const ADAPTIVE_MAX = 4096;

/**
 * Chooses chunk sizes for an input of unknown length: start at 1, then size chunks so each holds about
 * ADAPTIVE_TARGET_MS of work, going at most ×2 per step (slow start), measured from submit to result.
 */
export class AdaptiveChunksize {
  #size = 1;
  #msPerItem: number | undefined;

  next(): number {
    return this.#size;
  }

  observe(items: number, ms: number): void {
    if (items <= 0) return;
    const per = Math.max(ms, 0.001) / items;
    this.#msPerItem = this.#msPerItem === undefined ? per : this.#msPerItem * 0.5 + per * 0.5;
    const ideal = Math.max(1, Math.min(ADAPTIVE_MAX, Math.round(ADAPTIVE_TARGET_MS / this.#msPerItem)));
    this.#size = Math.min(ideal, this.#size * 2);
  }
}

/** Holds out-of-order chunk results until the ones before them arrive. */
export class ReorderBuffer<V> {
  readonly #pending = new Map<number, V>();
  #next = 0;

  get size(): number {
    return this.#pending.size;
  }

  put(index: number, value: V): void {
    this.#pending.set(index, value);
  }

  /** The next value in order, if it has arrived. */
  take(): V | undefined {
    const value = this.#pending.get(this.#next);
    if (value === undefined) return undefined;
    this.#pending.delete(this.#next++);
    return value;
  }
}
