// A submitter that dies: its chunks stop, queued ones are dropped, and what it kept in Redis goes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { Pool } from '../../src/index.js';
import { type NodeProcess, RedisServer, ROOT, sleep, startNode } from './fixtures/harness.js';
import { slowDouble } from './fixtures/tasks.js';

const QUEUE = 'orphaned';
let server: RedisServer;
let node: NodeProcess;
let dir: string;

const ranItems = (file: string): number => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

describe('a submitter that dies', { timeout: 120_000 }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mpool-orphaned-'));
    server = await RedisServer.start();
    node = await startNode({
      url: server.url,
      queue: QUEUE,
      processes: 2,
      env: { MPOOL_TEST_LOG: join(dir, 'ran.log') },
    });
  });

  after(async () => {
    await node?.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGKILLed mid-map: its work stops within a bound, and Redis keeps none of its chunks', async (t) => {
    const client = new Redis(server.url);
    try {
      const before = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
      const submitter = spawn(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'test/redis/fixtures/submitter.ts'), server.url, QUEUE],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const exited = new Promise((resolve) => submitter.once('exit', resolve));
      await new Promise<void>((resolve, reject) => {
        submitter.stdout!.on('data', (data: Buffer) => {
          if (data.toString().includes('first result')) resolve();
        });
        submitter.once('exit', () => reject(new Error('the submitter exited before its first result')));
      });
      submitter.kill('SIGKILL');
      await exited;
      const log = join(dir, 'ran.log');
      const atKill = ranItems(log);
      // Its heartbeat lives 2 s (its redisTimeout); nodes look each second; a running item takes 150 ms.
      await sleep(4000);
      const settled = ranItems(log);
      await sleep(2000);
      assert.equal(ranItems(log), settled, 'items of the dead submitter still start');
      assert.ok(settled < 200, `all ${settled} items ran`);
      // Queued chunks were dropped and removed, finished ones removed: no job of it is left.
      const jobKeys = (await client.keys(`bull:${QUEUE}:*-*`)).filter((key) => /[0-9a-f]{16}-\d+$/.test(key));
      assert.deepEqual(jobKeys, []);
      assert.equal(await client.llen(`bull:${QUEUE}:wait`), 0);
      assert.equal(await client.zcard(`bull:${QUEUE}:prioritized`), 0);
      assert.deepEqual(await client.keys(`bull:${QUEUE}:mpool-alive:*`), []);
      assert.deepEqual(await client.keys(`bull:${QUEUE}:mpool-results:*`), []);
      const after = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
      assert.ok(after - before < 2 ** 20, `Redis kept ${((after - before) / 1024).toFixed(0)} KiB`);
      assert.ok(
        node.lines.some((line) => /submitter is gone/i.test(line)),
        node.lines.join('\n'),
      );
      t.diagnostic(`${atKill} items had started by the kill, ${settled} in all (of 200)`);
    } finally {
      client.disconnect();
    }
  });

  it('terminate() with chunks running leaves no stream of its own behind, though its nodes still answer', async () => {
    const client = new Redis(server.url);
    const log = join(dir, 'ran.log');
    try {
      const pool = new Pool({ redis: server.url, queue: QUEUE, processes: 2 });
      const ranBefore = ranItems(log);
      const result = pool.map(slowDouble, [1, 2, 3, 4, 5, 6, 7, 8], 1).catch((err: unknown) => err);
      while (ranItems(log) === ranBefore) await sleep(10);
      assert.equal((await client.keys(`bull:${QUEUE}:mpool-results:*`)).length, 1);
      await pool.terminate();
      assert.ok((await result) instanceof Error);
      // The stopped chunks' failures (and any late result) reach Redis after the submitter deleted its stream.
      await sleep(1000);
      assert.deepEqual(await client.keys(`bull:${QUEUE}:mpool-results:*`), []);
    } finally {
      client.disconnect();
    }
  });
});
