// transfer(): marking buffers to move instead of copy, and finding the marks when a message is built.
import type { TransferListItem } from 'node:worker_threads';

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

export function isTransfer(value: unknown): value is Transfer {
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
