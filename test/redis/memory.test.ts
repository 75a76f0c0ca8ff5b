// Redis memory: a map of millions of items keeps a window of chunks in Redis, not all of its input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { Pool } from '../../src/index.js';
import { sqr } from '../fixtures/tasks.js';
import { type NodeProcess, RedisServer, startNode } from './fixtures/harness.js';

const QUEUE = 'memory';
let server: RedisServer;
const nodes: NodeProcess[] = [];

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

describe('Redis memory', { timeout: 180_000 }, () => {
  before(async () => {
    server = await RedisServer.start();
    const settings = { url: server.url, queue: QUEUE, processes: 1 };
    nodes.push(...(await Promise.all([startNode(settings), startNode(settings)])));
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await server?.stop();
  });

  it('a map keeps Redis memory flat: 10M items take no more than 2M do, a window of chunks at a time', async (t) => {
    const client = new Redis(server.url);
    const pool = new Pool({ redis: server.url, queue: QUEUE, processes: 2, redisTimeout: 60_000 });
    /** How much Redis grew, at most, while `n` items were squared in chunks of 10,000; checks the results. */
    const peakGrowth = async (n: number): Promise<number> => {
      const before = await usedMemory(client);
      let peak = before;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, await usedMemory(client));
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      })();
      const items = Array.from({ length: n }, (_, i) => i);
      const squares = await pool.map(sqr, items, 10_000);
      sampling = false;
      await sampler;
      assert.equal(squares.length, n);
      for (const i of [0, 1, n >> 1, n - 1]) assert.equal(squares[i], i * i);
      return (peak - before) / 2 ** 20;
    };
    try {
      const small = await peakGrowth(2_000_000);
      // 1,000 chunks: about 107 MiB of encoded input alone, had they all gone to Redis at once.
      const large = await peakGrowth(10_000_000);
      t.diagnostic(
        `Redis grew by ${small.toFixed(1)} MiB at most for 2M items, ${large.toFixed(1)} MiB for 10M`,
      );
      assert.ok(large < 64, `Redis grew by ${large.toFixed(1)} MiB during a 10M-item map`);
      assert.ok(
        large < 1.5 * small + 8,
        `10M items: ${large.toFixed(1)} MiB, 2M items: ${small.toFixed(1)} MiB`,
      );
    } finally {
      await pool.terminate();
      client.disconnect();
    }
  });

  it('a node warns at start when Redis may evict keys', async () => {
    const evicting = await RedisServer.start(['--maxmemory-policy', 'allkeys-lru']);
    try {
      const node = await startNode({ url: evicting.url, queue: QUEUE, processes: 1 });
      try {
        await node.waitFor(/warning: Redis's maxmemory-policy is allkeys-lru, not noeviction/);
      } finally {
        await node.stop();
      }
    } finally {
      await evicting.stop();
    }
  });
});
