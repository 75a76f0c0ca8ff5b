// AsyncResult: get with timeout, wait, ready, successful, awaitable, callbacks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AsyncResult, CallbackError, NotReadyError, TimeoutError } from '../src/index.js';
import { sleep } from './helpers.js';

function later<T>(value: T, ms: number, fail = false): AsyncResult<T> {
  return new AsyncResult<T>((fulfil, reject) => {
    setTimeout(() => (fail ? reject(value) : fulfil(value)), ms);
  });
}

describe('AsyncResult', () => {
  it('get(timeout) rejects with TimeoutError, and the result can still be fetched later', async () => {
    const r = later('v', 100);
    await assert.rejects(r.get(10), (e: unknown) => e instanceof TimeoutError && e.timeout === 10);
    assert.equal(r.ready(), false);
    assert.throws(() => r.successful(), NotReadyError);
    assert.equal(await r.get(), 'v');
    assert.equal(await r.get(0), 'v');
    assert.equal(r.successful(), true);
  });

  it('wait() resolves true when ready, false on timeout, and never rejects', async () => {
    const r = later(new Error('x'), 50, true);
    assert.equal(await r.wait(5), false);
    assert.equal(await r.wait(), true);
    assert.equal(r.successful(), false);
  });

  it('is awaitable', async () => {
    assert.equal(await later(7, 1), 7);
    await assert.rejects(async () => await later(new RangeError('r'), 1, true), RangeError);
  });

  it('is a native promise, so await and Promise.all take it as it is; what derives from it is a plain Promise', async () => {
    const r = later(3, 1);
    assert.ok(r instanceof Promise);
    assert.ok(r instanceof AsyncResult);
    // Promise.resolve returns a promise whose constructor is Promise unchanged: no thenable wrapping.
    assert.equal(Promise.resolve(r), r);
    const derived = r.then((v) => v + 1);
    assert.equal(Object.getPrototypeOf(derived), Promise.prototype);
    assert.deepEqual(await Promise.all([r, derived, r.get()]), [3, 4, 3]);
  });

  it('a failure that nobody waits for is not an unhandled rejection; waiting still gets it', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const r = new AsyncResult<number>((_f, reject) => reject(new Error('unread')));
      await sleep(20);
      assert.deepEqual(unhandled, []);
      assert.equal(r.successful(), false);
      await assert.rejects(r.get(), /unread/);
      await assert.rejects(async () => await r, /unread/);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a rejection read only through errorCallback does not crash the process', async () => {
    let seen: unknown;
    new AsyncResult<number>((_f, reject) => reject(new Error('quiet')), { errorCallback: (e) => (seen = e) });
    await sleep(20);
    assert.equal((seen as Error).message, 'quiet');
  });

  it('callback fires once; a throwing callback turns into CallbackError', async () => {
    const calls: number[] = [];
    const ok = new AsyncResult<number>((f) => f(1), { callback: (v) => calls.push(v) });
    assert.equal(await ok, 1);
    assert.deepEqual(calls, [1]);
    const bad = new AsyncResult<number>((f) => f(1), {
      callback: () => {
        throw new Error('cb');
      },
    });
    await assert.rejects(
      bad.get(),
      (e: unknown) => e instanceof CallbackError && (e.cause as Error).message === 'cb',
    );
  });

  it('validates timeouts', () => {
    const r = later(1, 1);
    assert.throws(() => r.get(-1), /Expected `timeout` to be a number of milliseconds >= 0, got `-1`/);
  });
});
