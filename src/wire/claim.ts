// Claim cells: how a thread worker and the pool agree, without a message, on which of a batch's chunks the
// worker starts and which the pool takes back (see Claim in protocol.ts).
import { Claim } from '../protocol.js';

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

/**
 * How many claim cells a thread keeps (see ClaimRing): more than the chunks it holds at any time, as a rule,
 * which are two batches.
 */
const RING_CELLS = 1024;

/**
 * A thread's own claim cells, given out to batch after batch. The buffer crosses once, in the worker's 'init';
 * a batch then says only where its cells start. A new SharedArrayBuffer for every batch cost each message about
 * a microsecond on each side, which a stream of one-chunk batches (imap) paid every time.
 *
 * A cell is given out again only once the worker has passed the chunk it held: the worker reaches chunks in the
 * order they were sent, claiming each or skipping it (taken back), so an outcome for one chunk means it has
 * passed every cell given out before that chunk's. A chunk taken back at the end of a batch is passed when
 * something sent after it reports. When too few cells are free, take() says so, and the batch brings its own;
 * a report from such a batch, too, says the worker passed every cell given out before it was sent.
 */
export class ClaimRing {
  readonly cells = claimCells(RING_CELLS);
  /** Cells given out so far, counted from the first; cell k is at k % RING_CELLS. */
  #given = 0;
  /** How many of those the worker is known to have passed. */
  #passed = 0;

  /** `n` cells in a row, all QUEUED: the count of the first (its cell is at that % size), or -1 if no room. */
  take(n: number): number {
    if (this.#given + n - this.#passed > RING_CELLS) return -1;
    const first = this.#given;
    // The worker has passed these cells, and the pool alone may take back what they stood for: nobody else
    // reads them until the batch that follows arrives.
    for (let k = first; k < first + n; k++) Atomics.store(this.cells, this.at(k), Claim.QUEUED);
    this.#given = first + n;
    return first;
  }

  /** The count of the last cell given out, or -1 before the first. */
  get last(): number {
    return this.#given - 1;
  }

  /** Where the cell given out as `count` is in `cells`. */
  at(count: number): number {
    return count % RING_CELLS;
  }

  /** A chunk given cell `count`, or sent after it, reported: the worker has passed it and every cell before it. */
  passed(count: number): void {
    if (count >= this.#passed) this.#passed = count + 1;
  }
}
