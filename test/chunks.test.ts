// Chunking rules, lazy reading, adaptive sizes and the reorder buffer, without any worker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdaptiveChunksize, ChunkReader, defaultChunksize, ReorderBuffer } from '../src/chunks.js';
import { isSharedView, sharedResults } from '../src/protocol.js';

describe('chunks', () => {
  it("defaultChunksize is Python's ceil(len / (4 × workers)), at least 1", () => {
    assert.equal(defaultChunksize(1_000_000, 2), 125_000);
    assert.equal(defaultChunksize(5, 2), 1);
    assert.equal(defaultChunksize(9, 1), 3);
    assert.equal(defaultChunksize(0, 4), 1);
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
