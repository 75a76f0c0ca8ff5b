// Redis Cluster: the same Pool against a real cluster of 3 masters, its queue's keys in one slot.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { Pool } from '../../src/index.js';
import { behave, sqr } from '../fixtures/tasks.js';
import { type NodeProcess, RedisCluster, startNode } from './fixtures/harness.js';

const QUEUE = 'clustered';
let cluster: RedisCluster;
const nodes: NodeProcess[] = [];

describe('Pool on a Redis Cluster', { timeout: 120_000 }, () => {
  before(async () => {
    cluster = await RedisCluster.start(3);
    const settings = { url: cluster.url, queue: QUEUE, processes: 1, flags: ['--cluster'] };
    nodes.push(...(await Promise.all([startNode(settings), startNode(settings)])));
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await cluster?.stop();
  });

  it('maps, streams and settles, with every key of the queue on one master', async () => {
    const pool = new Pool({ redis: { url: cluster.url, cluster: true }, queue: QUEUE, processes: 2 });
    try {
      const xs = Array.from({ length: 1000 }, (_, i) => i);
      assert.deepEqual(
        await pool.map(sqr, xs, 50),
        xs.map((x) => x * x),
      );
      const streamed: number[] = [];
      for await (const value of pool.imap(sqr, [1, 2, 3])) streamed.push(value);
      assert.deepEqual(streamed, [1, 4, 9]);
      await assert.rejects(pool.apply(behave, ['throw']), TypeError);
      const outcomes = await pool.map(behave, ['ok', 'throw'] as const, { settle: true, chunksize: 1 });
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['fulfilled', 'rejected'],
      );
      // The prefix became the hash tag {bull}: all of the queue's keys sit on the master of that one slot.
      const holders: number[] = [];
      for (const server of cluster.servers) {
        const client = new Redis(server.port, '127.0.0.1');
        try {
          const keys = await client.keys(`{bull}:${QUEUE}:*`);
          if (keys.length > 0) holders.push(server.port);
        } finally {
          client.disconnect();
        }
      }
      assert.equal(holders.length, 1, `the queue's keys are on ${holders.length} masters`);
    } finally {
      await pool.terminate();
    }
  });
});
