// Errors cross the wire keeping class, name, message, code, own fields, cause and the worker-side stack.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SerializationError, WorkerLostError } from '../src/errors.js';
import { deserializeError, serializeError } from '../src/wire/errors.js';
import { behave, FixtureError } from './fixtures/tasks.js';
import { CONTEXTS, withPool } from './helpers.js';

const roundTrip = (err: unknown): unknown => deserializeError(structuredClone(serializeError(err)));

describe('error wire format', () => {
  it('keeps built-in classes', () => {
    for (const Ctor of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
      const back = roundTrip(new Ctor('m')) as Error;
      assert.ok(back instanceof Ctor, Ctor.name);
      assert.equal(back.constructor, Ctor);
      assert.equal(back.message, 'm');
      assert.equal(back.name, Ctor.name);
    }
  });

  it('keeps name, code, own fields, cause and stack of other classes', () => {
    const original = new FixtureError('custom failure', { cause: new RangeError('the cause') });
    const back = roundTrip(original) as FixtureError;
    assert.ok(back instanceof Error);
    assert.equal(back.name, 'FixtureError');
    assert.equal(back.code, 'E_FIXTURE');
    assert.deepEqual(back.detail, { n: 1 });
    assert.ok(back.cause instanceof RangeError);
    assert.equal(back.stack, original.stack);
  });

  it('keeps AggregateError with its errors, and thrown non-errors as they are', () => {
    const back = roundTrip(new AggregateError([new TypeError('a'), 'b'], 'many')) as AggregateError;
    assert.ok(back instanceof AggregateError);
    assert.ok(back.errors[0] instanceof TypeError);
    assert.equal(back.errors[1], 'b');
    assert.deepEqual(roundTrip({ code: 7 }), { code: 7 });
    assert.equal(roundTrip('plain string'), 'plain string');
  });

  it('turns fields that cannot be cloned into a description instead of failing', () => {
    const err = Object.assign(new Error('x'), { fn: () => 1, ok: 2 });
    const back = roundTrip(err) as Error & { fn: unknown; ok: number };
    assert.equal(back.ok, 2);
    assert.match(String(back.fn), /uncloneable/);
  });

  it("keeps mpool's own classes raised in a worker", () => {
    const back = roundTrip(new SerializationError(3, 'result', 'no')) as SerializationError;
    assert.ok(back instanceof SerializationError);
    assert.equal(back.index, 3);
  });

  it('every error has a name, a cause option, and a message that says what to do', () => {
    const cause = new Error('why');
    const lost = new WorkerLostError({ exitCode: 1, signal: null, kind: 'exit', reason: 'boom' }, { cause });
    assert.equal(lost.name, 'WorkerLostError');
    assert.equal(lost.cause, cause);
    assert.match(lost.message, /Pass `retries`/);
  });
});

for (const context of CONTEXTS) {
  describe(`errors from workers (${context})`, () => {
    it('a custom error keeps name, code, fields, cause and the worker-side stack', async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        const err = (await pool.apply(behave, ['throw-custom']).catch((e: unknown) => e)) as FixtureError;
        assert.equal(err.name, 'FixtureError');
        assert.equal(err.message, 'custom failure');
        assert.equal(err.code, 'E_FIXTURE');
        assert.deepEqual(err.detail, { n: 1 });
        assert.ok(err.cause instanceof RangeError);
        assert.equal((err.cause as Error).message, 'the cause');
        // The stack is the worker's: it points into the task's own module.
        assert.match(err.stack ?? '', /fixtures\/tasks\.ts/);
        const typeErr = await pool.apply(behave, ['throw', 'x']).catch((e: unknown) => e);
        assert.ok(typeErr instanceof TypeError);
      });
    });
  });
}
