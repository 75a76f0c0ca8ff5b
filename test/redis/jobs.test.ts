// The submitter's job writer against a fake BullMQ queue: a cancel that races the batch of adds it belongs to.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChunkJob } from '../../src/executor.js';
import type { ResolvedRedisOptions } from '../../src/options.js';
import { RedisBooks } from '../../src/redis/books.js';
import { RedisJobs } from '../../src/redis/jobs.js';
import { NEW_RECORD } from '../helpers.js';

const job = (id: number): ChunkJob => ({
  id,
  call: 1,
  fnId: 1,
  fn: { kind: 'inline', source: '(x) => x', name: '' },
  items: [id],
  star: false,
  base: id,
  timeout: null,
  retries: 0,
  exclusive: false,
  ...NEW_RECORD,
});

/** A queue whose addBulk waits, while `hold()` is in force, until `land()`; `jobs` is what Redis holds. */
function fakeQueue() {
  const jobs = new Set<string>();
  /** Jobs a node holds: remove() cannot take them. */
  const locked = new Set<string>();
  let gate: Promise<void> | null = null;
  let land = (): void => {};
  let adding = (): void => {};
  let addCalled = Promise.resolve();
  const hold = (): void => {
    gate = new Promise<void>((resolve) => {
      land = resolve;
    });
    addCalled = new Promise<void>((resolve) => {
      adding = resolve;
    });
  };
  const queue = {
    async addBulk(list: { opts: { jobId: string } }[]): Promise<unknown[]> {
      adding();
      if (gate) await gate;
      for (const item of list) jobs.add(item.opts.jobId);
      return list;
    },
    async remove(id: string): Promise<number> {
      return !locked.has(id) && jobs.delete(id) ? 1 : 0;
    },
  };
  return {
    queue: queue as unknown as Queue,
    jobs,
    locked,
    hold,
    land: () => land(),
    addCalled: () => addCalled,
  };
}

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('Redis job writer', () => {
  it('a chunk cancelled while its batch is on its way to Redis is removed once there; a running one is stopped at once', async () => {
    const fake = fakeQueue();
    const published: string[] = [];
    const cmd = {
      async publish(_channel: string, message: string): Promise<number> {
        published.push(message);
        return 1;
      },
    };
    const books = new RedisBooks(2);
    const settled: unknown[] = [];
    const options = {
      secret: 'test secret',
      maxPayloadBytes: 1 << 20,
      queue: 'q',
      connection: { prefix: 'bull' },
    } as unknown as ResolvedRedisOptions;
    const jobs = new RedisJobs({
      queue: fake.queue,
      cmd: cmd as unknown as Redis,
      options,
      books,
      stopped: () => false,
      settle: (_entry, result) => settled.push(result),
      firstCheckMs: 1000,
    });
    // Chunk 9 is in Redis, and a node runs it.
    const running = books.add(job(9), 't-9', 1000);
    await jobs.add(running);
    await turns(5);
    assert.deepEqual([...fake.jobs], ['t-9']);
    fake.locked.add('t-9');
    // Chunks 0-2 go out in one batch, which has not reached Redis when chunks 1 and 9 are cancelled.
    fake.hold();
    const entries = [0, 1, 2].map((id) => books.add(job(id), `t-${id}`, 1000));
    await Promise.all(entries.map((entry) => jobs.add(entry)));
    await fake.addCalled();
    // Chunk 3 was never added at all: nothing to remove, nobody to tell.
    const never = books.add(job(3), 't-3', 1000);
    for (const id of [1, 9, 3]) books.drop(id);
    const dropping = jobs.drop([entries[1]!, running, never], true);
    await turns(5);
    assert.deepEqual(published, [JSON.stringify(['t-9'])], 'the running chunk is stopped without waiting');
    assert.deepEqual([...fake.jobs], ['t-9'], 'the batch has not landed yet');
    fake.land();
    await dropping;
    assert.deepEqual([...fake.jobs].sort(), ['t-0', 't-2', 't-9']);
    assert.deepEqual(
      published,
      [JSON.stringify(['t-9'])],
      'chunk 1 never ran, so no node is told to stop it',
    );
    assert.deepEqual(settled, []);
  });
});
