// Shared pages: numeric items that a thread reads, and writes its results into, without a copy.

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
