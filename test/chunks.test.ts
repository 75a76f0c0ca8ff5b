// Chunking rules, lazy reading, adaptive sizes and the reorder buffer, without any worker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AdaptiveChunksize,
  ChunkReader,
  COLUMN_PAGE,
  defaultChunksize,
  mergedChunksize,
  PAGES_AHEAD,
  PageCache,
  ReorderBuffer,
} from '../src/chunks.js';
import { isSharedView, sharedResults } from '../src/wire/shared.js';

describe('chunks', () => {
  it("defaultChunksize is Python's ceil(len / (4 × workers)), at least 1", () => {
    assert.equal(defaultChunksize(1_000_000, 2), 125_000);
    assert.equal(defaultChunksize(5, 2), 1);
    assert.equal(defaultChunksize(9, 1), 3);
    assert.equal(defaultChunksize(0, 4), 1);
  });

  it('mergedChunksize runs tiny chunks together, in whole chunks, keeping 8 a worker', () => {
    // Unknown cost, or chunks of a quarter of a millisecond or more: the chunksize asked for.
    assert.equal(mergedChunksize(1000, 1_000_000, 2, undefined), 1000);
    assert.equal(mergedChunksize(1000, 1_000_000, 2, 0.0003), 1000);
    assert.equal(mergedChunksize(10, 1_000_000, 2, 0.5), 10);
    // 9.9 ns an item: a quarter of a millisecond is 25 chunks of 1000.
    assert.equal(mergedChunksize(1000, 1_000_000, 2, 9.9e-6), 25_000);
    assert.equal(mergedChunksize(1000, 10_000_000, 2, 9e-6), 27_000);
    // 1 ns an item would make chunks of 250,000, but 16 chunks (8 per worker) cap them at 62,000.
    assert.equal(mergedChunksize(1000, 1_000_000, 2, 1e-6), 62_000);
    assert.equal(mergedChunksize(1000, 10_000_000, 4, 3e-5), 8000);
    // Never below the chunksize, even when the input is too short to merge.
    assert.equal(mergedChunksize(1000, 5000, 2, 1e-6), 1000);
    assert.equal(mergedChunksize(7, 1_000_000, 2, 1e-6), 7 * 8928);
  });

  it('PageCache hands out whole pages for big inputs and reuses them once given back', () => {
    const cache = new PageCache();
    const small = cache.take(10);
    assert.equal(small.length, 10);
    assert.equal(small.buffer.byteLength, 2 * 10 * 8, 'a small input gets a page of its own size');
    const big = cache.take(COLUMN_PAGE - 1000);
    assert.equal(big.length, COLUMN_PAGE - 1000);
    assert.equal(big.buffer.byteLength, 2 * COLUMN_PAGE * 8, 'a big one gets a whole page');
    // Nothing is reused before it is given back.
    assert.notEqual(cache.take(COLUMN_PAGE - 1000).buffer, big.buffer);
    cache.give([small.buffer as SharedArrayBuffer, big.buffer as SharedArrayBuffer]);
    // The smallest free page that holds the request; a view of the requested length from its start.
    const again = cache.take(8);
    assert.equal(again.buffer, small.buffer);
    assert.equal(again.length, 8);
    const bigger = cache.take(COLUMN_PAGE);
    assert.equal(bigger.buffer, big.buffer);
    assert.equal(cache.take(COLUMN_PAGE).buffer === big.buffer, false, 'taken pages leave the cache');
    // At most PAGES_AHEAD pages are kept, the largest.
    const sizes = [5, ...Array.from({ length: PAGES_AHEAD }, (_, i) => 6 + i)];
    const pages = sizes.map((size) => cache.take(size).buffer as SharedArrayBuffer);
    cache.give(pages);
    for (let i = sizes.length - 1; i >= 1; i--) assert.equal(cache.take(sizes[i]!).buffer, pages[i]);
    assert.notEqual(cache.take(5).buffer, pages[0], 'the smallest was not kept');
  });

  it('ChunkReader takes numeric pages from its cache and gives them back on recycle()', () => {
    const cache = new PageCache();
    const reader = new ChunkReader(
      Array.from({ length: 100 }, (_, i) => i),
      cache,
    );
    const chunk = reader.readSync(60) as Float64Array;
    reader.readSync(60);
    reader.recycle();
    const next = new ChunkReader([7, 8, 9], cache);
    const reused = next.readSync(3) as Float64Array;
    assert.equal(reused.buffer, chunk.buffer);
    assert.deepEqual(Array.from(reused), [7, 8, 9]);
  });

  it('ChunkReader reuses a page once every chunk on it is released, and never one released as unsafe', () => {
    const cache = new PageCache();
    const half = COLUMN_PAGE / 2;
    const input = Array.from({ length: 4 * COLUMN_PAGE }, (_, i) => i);
    const reader = new ChunkReader(input, cache);
    const a = reader.readSync(half) as Float64Array;
    const b = reader.readSync(half) as Float64Array;
    assert.equal(a.buffer, b.buffer, 'two chunks share the first page');
    const c = reader.readSync(half) as Float64Array;
    assert.notEqual(c.buffer, a.buffer, 'the third starts the second page');
    assert.equal(reader.pagesAhead, 2);
    reader.release(a, true);
    assert.equal(reader.pagesAhead, 2, 'a page with a chunk still out is kept');
    reader.release(b, true);
    assert.equal(reader.pagesAhead, 1, 'a page whose chunks are all back leaves the reader');
    reader.readSync(half);
    const e = reader.readSync(half) as Float64Array;
    assert.equal(e.buffer, a.buffer, 'the next page is the first one again');
    assert.equal(e[0], 2 * COLUMN_PAGE, 'holding the next items');
    // A chunk that a lost worker may still write: its page is dropped, never handed out again.
    reader.release(e, false);
    reader.readSync(half);
    const g = reader.readSync(half) as Float64Array;
    assert.notEqual(g.buffer, a.buffer);
    assert.notEqual(g.buffer, c.buffer, 'the second page still has a chunk out');
  });

  it('ChunkReader reads arrays, iterables and async iterables lazily', async () => {
    let pulled = 0;
    function* gen() {
      for (;;) yield ++pulled;
    }
    const reader = new ChunkReader(gen());
    assert.deepEqual(reader.readSync(3), [1, 2, 3]);
    assert.equal(pulled, 3);
    assert.equal(reader.length, undefined);
    const arr = new ChunkReader([1, 2, 3, 4, 5]);
    assert.equal(arr.length, 5);
    // Arrays of numbers come back as views of one shared page, which thread workers read in place.
    const first = arr.readSync(2) as Float64Array;
    const second = arr.readSync(9) as Float64Array;
    assert.deepEqual([first, second], [new Float64Array([1, 2]), new Float64Array([3, 4, 5])]);
    assert.ok(isSharedView(first) && first.buffer === second.buffer);
    // Each chunk's results have their own slots in the page's second half.
    sharedResults(second).set([6, 8, 10]);
    assert.deepEqual(Array.from(sharedResults(first)), [0, 0]);
    assert.deepEqual(Array.from(second), [3, 4, 5]);
    const mixed = new ChunkReader([1, 'a', 2]);
    assert.deepEqual(mixed.readSync(3), [1, 'a', 2]);
    // An array that stops being numeric midway is read as plain lists from there on.
    const turns = new ChunkReader([1, 2, 'x', 4]);
    assert.ok(isSharedView(turns.readSync(2)));
    assert.deepEqual(turns.readSync(2), ['x', 4]);
    assert.equal(arr.done, true);
    async function* agen() {
      yield 'a';
      yield 'b';
    }
    const areader = new ChunkReader(agen());
    assert.equal(areader.synchronous, false);
    assert.deepEqual(await areader.read(5), ['a', 'b']);
    assert.equal(areader.done, true);
  });

  it('close() runs the generator finally block', () => {
    let closed = false;
    function* gen() {
      try {
        yield 1;
        yield 2;
      } finally {
        closed = true;
      }
    }
    const reader = new ChunkReader(gen());
    reader.readSync(1);
    reader.close();
    assert.equal(closed, true);
  });

  it('AdaptiveChunksize starts at 1 and grows at most ×2 toward ~10 ms of work', () => {
    const a = new AdaptiveChunksize();
    assert.equal(a.next(), 1);
    a.observe(1, 0.01);
    assert.equal(a.next(), 2);
    for (let i = 0; i < 20; i++) a.observe(a.next(), a.next() * 0.01);
    assert.ok(a.next() > 100 && a.next() <= 4096, String(a.next()));
    const slow = new AdaptiveChunksize();
    slow.observe(1, 1000);
    assert.equal(slow.next(), 1);
  });

  it('ReorderBuffer releases values in order', () => {
    const b = new ReorderBuffer<string>();
    b.put(1, 'b');
    assert.equal(b.take(), undefined);
    b.put(0, 'a');
    assert.equal(b.take(), 'a');
    assert.equal(b.take(), 'b');
    assert.equal(b.size, 0);
  });
});
