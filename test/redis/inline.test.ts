// A worker node runs chunks its measurements call tiny on its own thread, saving the round trip to a worker
// (src/redis/runner.ts): the results, the errors and what stays on the workers, with real nodes and a
// private redis-server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool, SerializationError } from '../../src/index.js';
import { type NodeProcess, RedisServer, startNode } from './fixtures/harness.js';
import { placed, placedLater } from './fixtures/tasks.js';

type Place = [value: number, pid: number, thread: number];

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('a worker node runs tiny chunks on its own thread', () => {
  let server: RedisServer;
  let eager: NodeProcess;
  let never: NodeProcess;
  const pools: Pool[] = [];
  const poolOn = (queue: string): Pool => {
    const pool = new Pool({ redis: server.url, queue, processes: 1 });
    pools.push(pool);
    return pool;
  };
  // Any chunk under 50 ms counts as tiny on `eager`, however slow this machine's round trip to a worker is.
  before(async () => {
    server = await RedisServer.start();
    [eager, never] = await Promise.all([
      startNode({ url: server.url, queue: 'eager', processes: 1, flags: ['--inline-under', '50'] }),
      startNode({ url: server.url, queue: 'never', processes: 1, flags: ['--inline-under', '0'] }),
    ]);
  });
  after(async () => {
    await Promise.all(pools.map((pool) => pool.terminate()));
    await Promise.all([eager.stop(), never.stop()]);
    await server.stop();
  });

  const onNodeThread = (node: NodeProcess, place: Place): boolean => place[1] === node.pid && place[2] === 0;

  it('a function runs on a worker first, then, measured tiny, on the node itself, with the same results', async () => {
    const out = (await poolOn('eager').map(placed, range(200), 10)) as Place[];
    assert.deepEqual(
      out.map((place) => place[0]),
      range(200).map((x) => 2 * x),
    );
    assert.equal(onNodeThread(eager, out[0]!), false, 'the first chunk ran on a worker');
    assert.equal(onNodeThread(eager, out[199]!), true, 'the last chunk ran on the node thread');
  });

  it('with --inline-under 0 every chunk runs on a worker', async () => {
    const out = (await poolOn('never').map(placed, range(200), 10)) as Place[];
    assert.deepEqual(
      out.map((place) => place[0]),
      range(200).map((x) => 2 * x),
    );
    assert.equal(out.filter((place) => onNodeThread(never, place)).length, 0);
  });

  it('async tasks, chunks with a timeout and chunks of a settle: true call stay on the workers', async () => {
    const pool = poolOn('eager');
    await pool.map(placed, range(100), 10); // tiny by now
    const later = (await pool.map(placedLater, range(100), 10)) as Place[];
    const timed = (await pool.map(placed, range(100), { chunksize: 10, timeout: 60_000 })) as Place[];
    const settled = await pool.map(placed, range(100), { chunksize: 10, settle: true });
    const places = [
      ...later,
      ...timed,
      ...settled.map((outcome) => {
        assert.equal(outcome.status, 'fulfilled');
        return (outcome as { value: Place }).value;
      }),
    ];
    assert.equal(places.length, 300);
    assert.equal(places.filter((place) => onNodeThread(eager, place)).length, 0);
  });

  it("on the node's thread a chunk fails as it does on a worker, naming the item, and the pool goes on", async () => {
    for (const [queue, node] of [
      ['eager', () => eager],
      ['never', () => never],
    ] as const) {
      const pool = poolOn(queue);
      const warm = (await pool.map(placed, range(100), 10)) as Place[];
      assert.equal(onNodeThread(node(), warm[99]!), queue === 'eager', `${queue}: where the warm map ran`);
      const withItem = (bad: number, at: number): number[] => range(30).map((x) => (x === at ? bad : x));
      await assert.rejects(pool.map(placed, withItem(-1, 14), 10), (err: Error) => {
        assert.equal(err.name, 'RangeError', queue);
        assert.equal(err.message, 'item -1 failed on purpose', queue);
        return true;
      });
      for (const [bad, at, reason] of [
        [-2, 13, /could not be cloned/],
        [-3, 25, /levels deep/],
      ] as const) {
        await assert.rejects(pool.map(placed, withItem(bad, at), 10), (err: unknown) => {
          assert.ok(err instanceof SerializationError, `${queue} ${bad}: ${String(err)}`);
          assert.equal(err.index, at, queue);
          assert.equal(err.direction, 'result', queue);
          assert.match(err.message, new RegExp(`The result of item ${at} `));
          assert.match(err.message, reason, queue);
          return true;
        });
      }
      const after = (await pool.map(placed, range(30), 10)) as Place[];
      assert.deepEqual(
        after.map((place) => place[0]),
        range(30).map((x) => 2 * x),
      );
    }
  });
});
