// resolveOptions(): defaults, and errors that name what was expected and what was received.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuCount, Pool } from '../src/index.js';
import { resolveChunksize, resolveOptions } from '../src/options.js';

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
      [{ timeout: 0 }, /`timeout` to be a finite number of milliseconds > 0, got `0`/],
      [{ retries: -1 }, /`retries` to be an integer >= 0/],
      [{ maxHeapMb: 1 }, /`maxHeapMb` to be an integer >= 16/],
      [{ procesess: 2 }, /Unknown pool option `procesess`/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => new Pool(options as never), { message }, JSON.stringify(options));
    }
  });

  it('chunksize below 1 is a RangeError (Python silently returns Nones)', () => {
    assert.equal(resolveChunksize(undefined), undefined);
    assert.equal(resolveChunksize(3), 3);
    assert.throws(() => resolveChunksize(0), { name: 'RangeError', message: /got `0` \(number\)/ });
    assert.throws(() => resolveChunksize('1'), { name: 'TypeError' });
  });
});
