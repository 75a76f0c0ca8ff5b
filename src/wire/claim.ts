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
