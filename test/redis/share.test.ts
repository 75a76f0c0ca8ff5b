// Many submitters on one queue: each gets exactly its own results, through its own stream, and a small map
// started while long ones fill the queue gets its first result within a bound that the long maps' size does
// not change (BullMQ priorities: every call's k-th chunk goes before any call's (k+1)-th).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from '../../src/index.js';
import { type NodeProcess, RedisServer, ROOT, sleep, startNode } from './fixtures/harness.js';
import { slowDouble } from './fixtures/tasks.js';

const QUEUE = 'share';
const LONG_MAPS = 3;
const LONG_ITEMS = 80;

describe('four submitters on one queue', { timeout: 120_000 }, () => {
  let server: RedisServer;
  let nodes: NodeProcess[] = [];
  before(async () => {
    server = await RedisServer.start();
    nodes = await Promise.all([1, 2].map(() => startNode({ url: server.url, queue: QUEUE, processes: 2 })));
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await server.stop();
  });

  it('each gets exactly its results, and a small map started behind three long ones is not kept waiting', async (t) => {
    const client = new Redis(server.url);
    const queue = new Queue(QUEUE, { connection: { host: '127.0.0.1', port: server.port } });
    const children: ChildProcess[] = [];
    try {
      const outputs = Array.from({ length: LONG_MAPS }, () => '');
      const exits = Array.from({ length: LONG_MAPS }, (_, k) => {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            join(ROOT, 'test/redis/fixtures/mapper.ts'),
            server.url,
            QUEUE,
            String(LONG_ITEMS),
          ],
          { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        children.push(child);
        child.stdout!.on('data', (data: Buffer) => (outputs[k] += data.toString()));
        return new Promise<number | null>((resolve) => child.once('exit', resolve));
      });
      // Wait until the long maps fill the queue: each keeps up to 64 chunks in Redis.
      let queued = 0;
      for (let waited = 0; queued < 150 && waited < 30_000; waited += 50) {
        const counts = await queue.getJobCounts('prioritized', 'wait');
        queued = (counts.prioritized ?? 0) + (counts.wait ?? 0);
        if (queued < 150) await sleep(50);
      }
      assert.ok(queued >= 150, `the long maps queued only ${queued} chunks`);

      // The fourth submitter: a small map. In arrival order it would wait for the ~150 queued chunks of 150 ms
      // on 4 workers (over 5 s); its first chunk should instead wait only for a running one to end.
      const pool = new Pool({ redis: server.url, queue: QUEUE, processes: 4 });
      const started = Date.now();
      const small = pool.imap(slowDouble, [0, 1, 2, 3, 4, 5, 6, 7], { chunksize: 1 });
      const first = await small.next();
      const firstMs = Date.now() - started;
      const rest: number[] = [first.value as number];
      for await (const value of small) rest.push(value as number);
      assert.deepEqual(rest, [0, 2, 4, 6, 8, 10, 12, 14]);
      // Each submitter has a results stream of its own while it runs, and a reader of it; none reads BullMQ's
      // shared event stream (QueueEvents' connections are named <queue>:qe).
      const streams = await client.keys(`bull:${QUEUE}:mpool-results:*`);
      assert.equal(streams.length, LONG_MAPS + 1, streams.join(', '));
      const clients = (await client.client('LIST')) as string;
      assert.equal(clients.match(/\bname=mpool:results\b/g)?.length, LONG_MAPS + 1, clients);
      assert.doesNotMatch(clients, /\bname=\S*:qe\b/);
      await pool.terminate();
      t.diagnostic(`first result of the small map after ${firstMs} ms, with ${queued} chunks queued ahead`);
      assert.ok(firstMs < 2000, `the small map's first result took ${firstMs} ms`);

      assert.deepEqual(await Promise.all(exits), Array(LONG_MAPS).fill(0));
      for (const output of outputs) assert.equal(output.trim(), `exact ${LONG_ITEMS}`);
      // Every submitter deleted its own stream on the way out.
      assert.deepEqual(await client.keys(`bull:${QUEUE}:mpool-results:*`), []);
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      await queue.close();
      client.disconnect();
    }
  });
});
