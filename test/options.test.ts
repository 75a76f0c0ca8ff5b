// resolveOptions(): defaults, and errors that name what was expected and what was received.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuCount, Pool } from '../src/index.js';
import { maxProcesses, resolveChunksize, resolveOptions } from '../src/options.js';

describe('resolveOptions', () => {
  it('fills defaults', () => {
    const o = resolveOptions();
    assert.equal(o.executor.size, cpuCount());
    assert.equal(o.context, 'thread');
    assert.equal(o.timeout, null);
    assert.equal(o.retries, 0);
    assert.equal(o.executor.maxtasksperchild, null);
    assert.deepEqual(o.executor.initargs, []);
  });

  it('rejects bad values, naming what was expected and received', () => {
    const cases: Array<[object, RegExp]> = [
      [{ processes: 0 }, /^Expected `processes` to be an integer >= 1, got `0` \(number\)$/],
      [{ processes: 1.5 }, /`processes` to be an integer >= 1, got `1.5`/],
      [{ processes: '2' }, /`processes` to be an integer >= 1, got `"2"` \(string\)/],
      [{ maxtasksperchild: 0 }, /`maxtasksperchild` to be an integer >= 1, got `0`/],
      [{ maxtasksperchild: -1 }, /`maxtasksperchild`/],
      [{ initializer: 'init' }, /^Expected `initializer` to be a function, got `"init"` \(string\)$/],
      [{ initargs: 5 }, /`initargs` to be an array/],
      [{ context: 'fork' }, /`context` to be 'thread' or 'process', got `"fork"`/],
      [{ timeout: 0 }, /`timeout` to be a number of milliseconds > 0, got `0`/],
      [{ retries: -1 }, /`retries` to be an integer >= 0/],
      [{ maxHeapMb: 1 }, /`maxHeapMb` to be an integer >= 16/],
      [{ procesess: 2 }, /Unknown pool option `procesess`/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => new Pool(options as never), { message }, JSON.stringify(options));
    }
  });

  it("takes the number of workers alone, as Python's Pool(4)", () => {
    assert.equal(resolveOptions(3).executor.size, 3);
    assert.equal(resolveOptions(3).context, 'thread');
    const cases: Array<[unknown, RegExp]> = [
      [0, /^Expected `processes` to be an integer >= 1, got `0` \(number\)$/],
      [Number.NaN, /^Expected `processes` to be an integer >= 1, got `NaN` \(number\)$/],
      [1e6, /^Expected `processes` to be an integer from 1 to \d+ /],
      ['2', /^Expected pool options to be an object or a number of processes, got `"2"` \(string\)$/],
      [null, /^Expected pool options to be an object or a number of processes, got `null` \(null\)$/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => new Pool(options as never), { message }, String(options));
    }
  });

  it('refuses initargs too deep for a worker to receive, before any worker starts', () => {
    let deep: object = {};
    for (let i = 0; i < 2500; i++) deep = { next: deep };
    assert.throws(() => new Pool({ initargs: [1, deep] }), {
      name: 'RangeError',
      message:
        /^Expected `initargs` to be values a worker can receive, got initargs\[1\]: it nests objects more than 1000 levels deep/,
    });
  });

  it('refuses a number of workers far beyond the machine, naming the limit and the way past it', () => {
    const { limit } = maxProcesses();
    assert.ok(limit >= cpuCount(), `limit ${limit} is below the CPU count`);
    assert.equal(resolveOptions({ processes: limit }).executor.size, limit);
    assert.throws(() => resolveOptions({ processes: 1e6 }), {
      name: 'RangeError',
      message: new RegExp(
        `^Expected \`processes\` to be an integer from 1 to ${limit} \\(.+\\), got \`1000000\` \\(number\\)\\. .*MPOOL_MAX_PROCESSES`,
      ),
    });
    // Only sizes chunks for worker nodes elsewhere: nothing starts here, so nothing to refuse.
    assert.equal(resolveOptions({ processes: 1e6, redis: 'redis://127.0.0.1:6379' }).executor.size, 1e6);
  });

  it('MPOOL_MAX_PROCESSES moves the limit on purpose', () => {
    const saved = process.env.MPOOL_MAX_PROCESSES;
    try {
      process.env.MPOOL_MAX_PROCESSES = '2000000';
      assert.equal(resolveOptions({ processes: 1e6 }).executor.size, 1e6);
      process.env.MPOOL_MAX_PROCESSES = '3';
      assert.throws(() => resolveOptions({ processes: 4 }), {
        message: /from 1 to 3 \(set by MPOOL_MAX_PROCESSES\), got `4`/,
      });
      process.env.MPOOL_MAX_PROCESSES = 'many';
      assert.throws(() => resolveOptions({ processes: 4 }), {
        message: /^Expected MPOOL_MAX_PROCESSES to be an integer >= 1, got `"many"` \(string\)$/,
      });
    } finally {
      if (saved === undefined) delete process.env.MPOOL_MAX_PROCESSES;
      else process.env.MPOOL_MAX_PROCESSES = saved;
    }
  });

  it('chunksize below 1 is a RangeError (Python silently returns Nones)', () => {
    assert.equal(resolveChunksize(undefined), undefined);
    assert.equal(resolveChunksize(3), 3);
    assert.throws(() => resolveChunksize(0), { name: 'RangeError', message: /got `0` \(number\)/ });
    assert.throws(() => resolveChunksize('1'), { name: 'TypeError' });
  });
});
