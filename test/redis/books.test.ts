// The Redis executor's books: fair sharing's priorities (a chunk's place in its call).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkJob } from '../../src/executor.js';
import { RedisBooks } from '../../src/redis/books.js';
import { NEW_RECORD } from '../helpers.js';

const job = (id: number, call: number, base: number, items: number): ChunkJob => ({
  id,
  call,
  fnId: 1,
  fn: { kind: 'inline', source: '(x) => x', name: '' },
  items: Array(items).fill(0),
  star: false,
  base,
  timeout: null,
  retries: 0,
  exclusive: false,
  ...NEW_RECORD,
});

describe('Redis books', () => {
  it("a chunk's priority is its place in its call, a short last chunk included, and a call's count ends with it", () => {
    const books = new RedisBooks(1);
    const long = [0, 1, 2].map((k) => books.add(job(k, 1, k * 10, 10), `t-${k}`, 2000));
    // Ten items in chunks of 4: the last chunk has 2, and is still the third.
    const small = [0, 1, 2].map((k) => books.add(job(10 + k, 2, k * 4, k === 2 ? 2 : 4), `t-1${k}`, 2000));
    assert.deepEqual(
      long.map((entry) => entry.priority),
      [1, 2, 3],
    );
    assert.deepEqual(
      small.map((entry) => entry.priority),
      [1, 2, 3],
    );
    // Call 2 ends (its chunks settle or are cancelled): a new chunk of that id starts again at 1.
    books.settled(small[0]!, { ok: true, values: [] });
    books.drop(small[1]!.job.id);
    books.settled(small[2]!, { ok: false, error: new Error('x') });
    assert.equal(books.add(job(20, 2, 0, 4), 't-20', 2000).priority, 1);
    // Call 1 still has chunks in flight: its next one is the fourth.
    assert.equal(books.add(job(3, 1, 30, 10), 't-3', 2000).priority, 4);
    books.dropAll();
    assert.equal(books.add(job(30, 1, 40, 10), 't-30', 2000).priority, 1);
  });
});
