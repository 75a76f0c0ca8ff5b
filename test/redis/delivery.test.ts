// Delivery on Redis: a node killed mid-map, lost events, a Redis restart and a Redis gone for good.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool, RedisUnavailableError } from '../../src/index.js';
import { cancelChannel } from '../../src/redis/wire.js';
import { sqr } from '../fixtures/tasks.js';
import { freePort, type NodeProcess, RedisServer, sleep, startNode } from './fixtures/harness.js';
import { slowDouble, trackedDouble, trackedThrow } from './fixtures/tasks.js';

let server: RedisServer;
let dir: string;
const nodes: NodeProcess[] = [];
const pools: Pool[] = [];
let logCount = 0;

/** A fresh log file for nodes to record each item they run. */
function logFile(): string {
  return join(dir, `run-${++logCount}.log`);
}

/** How often each item ran, from a log file: `pid item` per line. */
function runs(file: string): { byItem: Map<number, number>; pids: Set<number>; lines: string[] } {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // nothing ran yet
  }
  const lines = text.split('\n').filter(Boolean);
  const byItem = new Map<number, number>();
  const pids = new Set<number>();
  for (const line of lines) {
    const [pid, item] = line.split(' ');
    pids.add(Number(pid));
    byItem.set(Number(item), (byItem.get(Number(item)) ?? 0) + 1);
  }
  return { byItem, pids, lines };
}

async function nodesFor(queue: string, log: string, count = 2): Promise<NodeProcess[]> {
  const started = await Promise.all(
    Array.from({ length: count }, () =>
      startNode({ url: server.url, queue, processes: 2, env: { MPOOL_TEST_LOG: log } }),
    ),
  );
  nodes.push(...started);
  return started;
}

function pool(queue: string, extra: { redisTimeout?: number; url?: string } = {}): Pool {
  const created = new Pool({
    redis: extra.url ?? server.url,
    queue,
    processes: 4,
    redisTimeout: extra.redisTimeout ?? 30_000,
  });
  pools.push(created);
  return created;
}

describe('delivery on Redis', { timeout: 120_000 }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mpool-delivery-'));
    server = await RedisServer.start();
  });

  after(async () => {
    await Promise.all(pools.map((p) => p.terminate()));
    await Promise.all(nodes.map((node) => node.stop()));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a node killed mid-map: its chunks run again elsewhere, and each result arrives once, in order', async () => {
    const log = logFile();
    const [victim] = await nodesFor('kill', log);
    const p = pool('kill');
    const items = Array.from({ length: 40 }, (_, i) => i);
    const seen: number[] = [];
    const reading = (async () => {
      for await (const value of p.imap(slowDouble, items, { chunksize: 2, buffersize: 40 })) seen.push(value);
    })();
    // Kill the victim as soon as it has started an item: it is then mid-chunk.
    const deadline = Date.now() + 20_000;
    while (!runs(log).pids.has(victim!.pid) && Date.now() < deadline) await sleep(10);
    assert.ok(runs(log).pids.has(victim!.pid), 'the victim node never ran anything');
    victim!.kill('SIGKILL');
    await reading;
    assert.deepEqual(
      seen,
      items.map((x) => 2 * x),
    );
    const { byItem, lines } = runs(log);
    for (const x of items) assert.ok((byItem.get(x) ?? 0) >= 1, `item ${x} never ran`);
    assert.ok(lines.length > items.length, 'the killed chunk should have run again on the other node');
    await p.terminate();
  });

  it('a node frozen past its lock: the chunk runs elsewhere, and its late result is dropped', async () => {
    const log = logFile();
    const [frozen, other] = await nodesFor('frozen', log);
    const p = pool('frozen');
    // Chunks of 1.5 s: the frozen node is surely mid-chunk when it stops.
    const result = p.starmap(
      trackedDouble,
      [0, 1, 2, 3].map((x) => [x, 1500] as [number, number]),
      1,
    );
    const deadline = Date.now() + 20_000;
    while (!runs(log).pids.has(frozen!.pid) && Date.now() < deadline) await sleep(10);
    frozen!.kill('SIGSTOP');
    try {
      assert.deepEqual(await result, [0, 2, 4, 6]);
    } finally {
      frozen!.kill('SIGCONT');
    }
    // Woken, the frozen node finishes its chunk late; BullMQ refuses it (its lock is gone) and the pool,
    // which already has that result, would drop it anyway. Everything still works afterwards.
    await sleep(2000);
    assert.deepEqual(await p.map(sqr, [1, 2, 3], 1), [1, 4, 9]);
    assert.ok(runs(log).pids.has(other!.pid));
    assert.equal(frozen!.child.exitCode, null, 'the frozen node should still be running');
    await p.terminate();
  });

  it("a task's own exception fails at once and is not retried", async () => {
    const log = logFile();
    await nodesFor('throw', log, 1);
    const p = pool('throw');
    const started = Date.now();
    await assert.rejects(p.map(trackedThrow, [7]), (err: unknown) => {
      assert.ok(err instanceof RangeError);
      assert.equal(err.message, 'item 7 failed on purpose');
      return true;
    });
    assert.ok(Date.now() - started < 10_000);
    await sleep(2500); // longer than the nodes' lock and stalled intervals: nothing runs it again
    assert.deepEqual(runs(log).lines.length, 1);
    await p.terminate();
  });

  it('a cancel that reaches a node before the chunk it names has started still stops that chunk', async () => {
    // The race this pins down: a submitter cancels a chunk whose job a node has just taken (so it cannot be
    // removed), and its cancel message comes before the node's processor has the chunk. Here the message simply
    // comes first, before the job exists.
    await nodesFor('early-cancel', logFile(), 1);
    const connection = { host: '127.0.0.1', port: server.port };
    const queue = new Queue('early-cancel', { connection });
    const publisher = new Redis(server.port, '127.0.0.1');
    const outcome = async (id: string): Promise<string> => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const job = await Job.fromId(queue, id);
        if (job?.failedReason) return job.failedReason;
        if (job && (await job.isCompleted())) {
          // Read again: the job may have completed between the read above and this check, and then that read
          // has no return value yet. BullMQ sets it in the same step that marks the job completed.
          const completed = await Job.fromId(queue, id);
          return `completed ${JSON.stringify(completed?.returnvalue)}`;
        }
        assert.ok(Date.now() < deadline, `job ${id} did not finish within 15 s`);
        await sleep(50);
      }
    };
    try {
      const listeners = await publisher.publish(
        cancelChannel('bull', 'early-cancel'),
        JSON.stringify(['early-1']),
      );
      assert.ok(listeners >= 1, 'the node listens on the cancel channel');
      await sleep(100);
      const data = {
        v: 1,
        fn: { kind: 'name', name: 'sqr' },
        star: false,
        base: 0,
        timeout: null,
        retries: 0,
      };
      await queue.add('chunk', { ...data, items: [3] }, { jobId: 'early-1' });
      await queue.add('chunk', { ...data, items: [4] }, { jobId: 'early-2' });
      assert.match(await outcome('early-1'), /cancelled it before it started/);
      // Only the chunk named: the next one runs.
      assert.equal(await outcome('early-2'), `completed ${JSON.stringify({ v: 1, numbers: [16] })}`);
    } finally {
      publisher.disconnect();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('results lost on their way (connections cut, streams emptied) come in the end, each once', async () => {
    const log = logFile();
    await nodesFor('lost', log, 1);
    const p = pool('lost');
    assert.deepEqual(await p.map(sqr, [1, 2]), [1, 4]); // warm: the submitter is reading its results
    // Sabotage, over and over: cut the submitter's results reader and its QueueEvents, and empty its results
    // stream and BullMQ's event stream. Finished jobs are gone (removed on completion), so what the sweep
    // finds missing runs again.
    const admin = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null });
    let sabotage = true;
    const saboteur = (async () => {
      while (sabotage) {
        const clients = (await admin.client('LIST')) as string;
        for (const line of clients.split('\n')) {
          const id = /\bid=(\d+)/.exec(line)?.[1];
          if (id && /\bname=(\S*:qe|mpool:results)\b/.test(line))
            await admin.client('KILL', 'ID', id).catch(() => {});
        }
        const streams = await admin.keys('bull:lost:mpool-results:*');
        await Promise.all([
          admin.xtrim('bull:lost:events', 'MAXLEN', 0),
          ...streams.map((key) => admin.del(key)),
        ]);
        await sleep(5);
      }
    })();
    try {
      const started = Date.now();
      const result = p.map(trackedDouble, [1, 2, 3, 4, 5, 6], 1);
      await sleep(2000);
      const ranAll = runs(log).lines.length >= 6;
      sabotage = false;
      await saboteur;
      assert.deepEqual(await result, [2, 4, 6, 8, 10, 12]);
      assert.ok(ranAll, 'the chunks should have finished while their results were being dropped');
      assert.ok(Date.now() - started < 20_000);
    } finally {
      sabotage = false;
      await saboteur.catch(() => {});
      admin.disconnect();
    }
    await p.terminate();
  });

  it('a results reader cut off: outcomes waiting in the stream are read by the sweep, no chunk runs twice', async () => {
    const log = logFile();
    await nodesFor('cut', log, 1);
    const p = pool('cut');
    assert.deepEqual(await p.map(sqr, [1, 2]), [1, 4]);
    const admin = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null });
    // No room for a new connection, then the submitter's results reader cut: it cannot come back.
    const connected = Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))![1]);
    await admin.config('SET', 'maxclients', String(connected - 1));
    try {
      const clients = (await admin.client('LIST')) as string;
      const reader = /\bid=(\d+)\b[^\n]*\bname=mpool:results\b/.exec(clients)?.[1];
      assert.ok(reader, clients);
      await admin.client('KILL', 'ID', reader);
      // Past the 2 s after which the submitter looks its quiet chunks up, their jobs are gone (removed on
      // completion) while their outcomes wait, unread, in its stream.
      assert.deepEqual(await p.map(trackedDouble, [1, 2, 3, 4, 5, 6], 1), [2, 4, 6, 8, 10, 12]);
      const { byItem } = runs(log);
      assert.deepEqual(
        [1, 2, 3, 4, 5, 6].map((x) => byItem.get(x)),
        [1, 1, 1, 1, 1, 1],
      );
    } finally {
      await admin.config('SET', 'maxclients', '10000');
      admin.disconnect();
    }
    await p.terminate();
  });

  it('Redis restarting mid-map: the map finishes, each result once and in order', async () => {
    const log = logFile();
    await nodesFor('restart', log);
    const p = pool('restart');
    const items = Array.from({ length: 60 }, (_, i) => i);
    const result = p.starmap(
      trackedDouble,
      items.map((x) => [x, 100] as [number, number]),
      2,
    );
    while (runs(log).lines.length < 8) await sleep(10);
    await server.down();
    await sleep(1500);
    await server.up();
    assert.deepEqual(
      await result,
      items.map((x) => 2 * x),
    );
    await p.terminate();
  });

  it('Redis gone for good: outstanding work fails with RedisUnavailableError, no hang', async () => {
    const log = logFile();
    await nodesFor('gone', log, 1);
    const p = pool('gone', { redisTimeout: 2000 });
    const result = p.starmap(trackedDouble, [
      [1, 3000],
      [2, 3000],
    ] as [number, number][]);
    while (runs(log).lines.length < 1) await sleep(10);
    // ioredis prints every connection error of a client that has no 'error' listener: none of ours may.
    const printed: string[] = [];
    const { error } = console;
    console.error = (...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
      error(...args);
    };
    await server.down();
    const started = Date.now();
    try {
      await assert.rejects(result, RedisUnavailableError);
    } finally {
      console.error = error;
    }
    assert.deepEqual(
      printed.filter((line) => /Unhandled error event/.test(line)),
      [],
    );
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    const terminating = Date.now();
    await p.terminate();
    assert.ok(Date.now() - terminating < 5000);
    await server.up();
  });

  it('a pool whose Redis never answers fails with RedisUnavailableError', async () => {
    const port = await freePort(); // nothing listens there
    const p = pool('nowhere', { url: `redis://127.0.0.1:${port}`, redisTimeout: 1500 });
    await assert.rejects(p.map(sqr, [1, 2, 3]), (err: unknown) => {
      assert.ok(err instanceof RedisUnavailableError);
      assert.match(err.message, new RegExp(`redis://127\\.0\\.0\\.1:${port}`));
      return true;
    });
    await p.terminate();
  });
});
