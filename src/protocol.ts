// The messages between the pool and a worker: one tagged union per direction, data only.
import type { WireError } from './errors.js';

/** How a function travels: as its source text, or by module URL and registration key (like pickle's by-name). */
export type FnRef =
  | { kind: 'inline'; source: string; name: string }
  | { kind: 'module'; url: string; key: string };

/** Items of a chunk as they cross: a plain array, or a Float64Array when every item is a number (far cheaper to copy). */
export type WireItems = unknown[] | Float64Array;

export interface WireChunk {
  id: number;
  fn: number;
  /** Input position of the chunk's first item, so errors can name the item. */
  base: number;
  star: boolean;
  items: WireItems;
}

export type ToWorker =
  | { type: 'init'; workerId: number; initializer: FnRef | null; initargs: unknown[] }
  | { type: 'run'; fns: Array<[number, FnRef]>; chunks: WireChunk[] }
  | { type: 'stop' };

export type WireOutcome =
  | { id: number; ok: true; values: WireItems }
  | { id: number; ok: false; error: WireError };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-failed'; error: WireError }
  | { type: 'results'; results: WireOutcome[]; busyMs: number }
  /** Sent on the way out (process.exit or an uncaught exception): flushes results and names the running chunk. */
  | {
      type: 'dying';
      running: number | null;
      results: WireOutcome[];
      reason: WireError | null;
      code: number | null;
    };

const PACK_MIN = 8;

/** Packs an all-number array into a Float64Array; anything else travels as it is. */
export function packItems(items: readonly unknown[]): WireItems {
  const n = items.length;
  if (n < PACK_MIN) return items as unknown[];
  for (let i = 0; i < n; i++) if (typeof items[i] !== 'number') return items as unknown[];
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = items[i] as number;
  return out;
}

/** The transfer list for packed items: moving a buffer is cheaper than copying it once it is large. */
export function transferOf(items: WireItems, into: ArrayBuffer[]): void {
  if (items instanceof Float64Array && items.byteLength >= 64 * 1024) into.push(items.buffer as ArrayBuffer);
}
