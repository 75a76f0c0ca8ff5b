// Every kind of call, on a pool of each context, checked against the answers. Each entry script passes the
// tasks of its own module format, so what the workers load is that format.
import assert from 'node:assert/strict';

export async function exercise(mpool, tasks) {
  for (const context of ['thread', 'process']) {
    const pool = new mpool.Pool({ processes: 2, context, initializer: tasks.setOffset, initargs: [100] });
    assert.deepEqual(await pool.map((x) => x * x, [1, 2, 3]), [1, 4, 9], 'inline');
    assert.deepEqual(await pool.map(async (x) => x + 1, [1, 2]), [2, 3], 'inline async');
    assert.deepEqual(await pool.map(tasks.addOffset, [1, 2]), [101, 102], 'module, after the initializer');
    assert.deepEqual(await pool.map(tasks.later, [1, 2]), [10, 20], 'module async');
    if (tasks.scaled) assert.deepEqual(await pool.map(tasks.scaled, [1, 2]), [11, 21], 'needs tsx');
    assert.deepEqual(
      await pool.starmap(tasks.add, [
        [1, 2],
        [3, 4],
      ]),
      [3, 7],
      'starmap',
    );
    const ordered = [];
    for await (const value of pool.imap(tasks.addOffset, [3, 1, 2])) ordered.push(value);
    assert.deepEqual(ordered, [103, 101, 102], 'imap');
    const unordered = [];
    for await (const value of pool.imapUnordered(tasks.later, [1, 2, 3], 1)) unordered.push(value);
    assert.deepEqual(
      unordered.sort((a, b) => a - b),
      [10, 20, 30],
      'imapUnordered',
    );
    let called;
    const done = pool.mapAsync(tasks.addOffset, [5], { callback: (values) => (called = values) });
    assert.deepEqual(await done.get(), [105], 'mapAsync');
    assert.deepEqual(called, [105], 'callback');
    let reported;
    const failed = pool.mapAsync(tasks.fails, [7], { errorCallback: (err) => (reported = err) });
    await assert.rejects(failed.get(), (err) => err instanceof RangeError && /bad 7/.test(err.message));
    assert.ok(reported instanceof RangeError, 'errorCallback');
    pool.close();
    await pool.join();
    console.log(`ok ${context}`);
  }
}
