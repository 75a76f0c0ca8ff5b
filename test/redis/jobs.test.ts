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

/** A queue whose addBulk waits until `land()` is called; `jobs` is what Redis holds. */
function fakeQueue() {
  const jobs = new Set<string>();
  let land!: () => void;
  const landed = new Promise<void>((resolve) => {
    land = resolve;
  });
  let adding!: () => void;
  const addCalled = new Promise<void>((resolve) => {
    adding = resolve;
  });
  const queue = {
    async addBulk(list: { opts: { jobId: string } }[]): Promise<unknown[]> {
      adding();
      await landed;
      for (const item of list) jobs.add(item.opts.jobId);
      return list;
    },
    async remove(id: string): Promise<number> {
      return jobs.delete(id) ? 1 : 0;
    },
  };
  return { queue: queue as unknown as Queue, jobs, land, addCalled };
}

describe('Redis job writer', () => {
  it('a chunk cancelled while its batch is on its way to Redis is removed once there, and no node is told to stop it', async () => {
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
    const entries = [0, 1, 2].map((id) => books.add(job(id), `t-${id}`, 1000));
    await Promise.all(entries.map((entry) => jobs.add(entry)));
    await fake.addCalled;
    // Chunk 1 is cancelled while the batch holding it has not reached Redis.
    books.drop(1);
    const dropping = jobs.drop(['t-1'], true);
    fake.land();
    await dropping;
    assert.deepEqual([...fake.jobs].sort(), ['t-0', 't-2']);
    assert.deepEqual(published, [], 'nothing ran it, so no node is told to stop it');
    assert.deepEqual(settled, []);
  });
});
