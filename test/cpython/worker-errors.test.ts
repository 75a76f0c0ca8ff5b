// Port of CPython's `_TestPoolWorkerErrors` (Lib/test/_test_multiprocessing.py) to mpool. CPython runs it
// for process pools only; mpool sends results through structured clone on both contexts, so both run it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { SerializationError } from '../../src/index.js';
import { CONTEXTS } from '../helpers.js';
import { raising, sqr, unpickleableResult } from './fixtures.js';
import { range, rejection, withPool } from './support.js';

/**
 * Python's `assertIsInstance(exc, KeyError)`. KeyError is not a JS built-in, so mpool documents that it comes
 * back as a plain Error that keeps the original `name` (and message), not as the worker's class.
 */
function assertKeyError(exc: unknown): void {
  assert.ok(exc instanceof Error, `expected an Error, got ${inspect(exc)}`);
  assert.equal(Object.getPrototypeOf(exc), Error.prototype);
  assert.equal(exc.name, 'KeyError');
  assert.equal(exc.message, 'key');
}

for (const context of CONTEXTS) {
  describe(`_TestPoolWorkerErrors (${context})`, () => {
    it('test_async_error_callback', async () => {
      await withPool({ processes: 2, context }, async (p) => {
        const scratchpad: unknown[] = [null];
        const errback = (exc: unknown): void => {
          scratchpad[0] = exc;
        };

        const res = p.applyAsync(raising, [], { errorCallback: errback });
        assertKeyError(await rejection(res.get()));
        assert.ok(scratchpad[0]);
        assertKeyError(scratchpad[0]);

        p.close();
        await p.join();
      });
    });

    it('test_unpickleable_result', async () => {
      // Python raises MaybeEncodingError, holding the pickling error (`exc`) and the value's repr (`value`);
      // mpool rejects with its SerializationError, which names the direction and the item.
      await withPool({ processes: 2, context }, async (p) => {
        // Make sure we don't lose pool processes because of encoding errors.
        for (let iteration = 0; iteration < 20; iteration++) {
          const scratchpad: unknown[] = [null];
          const errback = (exc: unknown): void => {
            scratchpad[0] = exc;
          };

          const res = p.applyAsync(unpickleableResult, [], { errorCallback: errback });
          const err = await rejection(res.get());
          assert.ok(err instanceof SerializationError, `expected SerializationError, got ${inspect(err)}`);
          const wrapped = scratchpad[0];
          assert.ok(wrapped);
          assert.ok(wrapped instanceof SerializationError);
          assert.equal(wrapped.direction, 'result'); // the result, not the arguments, failed to encode
          assert.equal(wrapped.index, 0);
          assert.ok(wrapped.message.length > 0);
        }
        // The workers survived: the pool still has both and still works.
        assert.equal(p.processes, 2);
        assert.deepEqual(await p.map(sqr, range(8)), [0, 1, 4, 9, 16, 25, 36, 49]);

        p.close();
        await p.join();
      });
    });
  });
}
