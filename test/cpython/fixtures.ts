// Module tasks for the port of CPython's pool tests (Lib/test/_test_multiprocessing.py): the module-level
// helpers that file defines (sqr, mul, identity, raise_large_valuerror, raising, unpickleable_result...).
// Workers import this module, so it must only declare tasks and plain values.
import { randomUUID } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { task } from '../../src/index.js';

const nap = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One id per worker: this module is loaded once in every worker thread or process. */
const workerToken = randomUUID();

/** CPython's `sqr(x, wait=0.0)`; `wait` is in milliseconds. */
export const sqr = task(import.meta.url, async (x: number, wait = 0) => {
  if (wait > 0) await nap(wait);
  return x * x;
});

/** CPython's `mul(x, y)`. */
export const mul = task(import.meta.url, (x: number, y: number) => x * y);

/** CPython's `identity(x)`. */
export const identity = task(import.meta.url, <T>(x: T): T => x);

/** CPython's `time.sleep`, used as a task; milliseconds. */
export const sleepTask = task(import.meta.url, async (ms: number) => {
  await nap(ms);
  return ms;
});

/**
 * CPython's `raise_large_valuerror(wait)`: sleeps, then raises a ValueError with a 1 MiB message. A JS
 * RangeError plays Python's ValueError (a value out of its allowed range).
 */
export const raiseLargeValueError = task(import.meta.url, async (wait: number) => {
  await nap(wait);
  throw new RangeError('x'.repeat(1024 * 1024));
});

/** CPython's `_TestPool._test_traceback`: `raise RuntimeError(123) # some comment`. */
export const testTraceback = task(import.meta.url, () => {
  throw new RangeError('123'); // some comment
});

/** CPython's `_TestPool._test_wrapped_exception`: `raise RuntimeError('foo')`. */
export const testWrappedException = task(import.meta.url, () => {
  throw new RangeError('foo');
});

/** Python's KeyError: a class the pool does not know, so it comes back as Error named 'KeyError'. */
export class KeyError extends Error {
  override name = 'KeyError';
}

/** CPython's `raising()`: `raise KeyError("key")`. */
export const raising = task(import.meta.url, () => {
  throw new KeyError('key');
});

/** CPython's `unpickleable_result()`: `return lambda: 42`. A function cannot be structured-cloned. */
export const unpickleableResult = task(import.meta.url, () => () => 42);

/** sqr, and which worker ran it: stands in for reading worker pids from CPython's `p._pool`. */
export const sqrWhere = task(import.meta.url, (x: number) => ({
  value: x * x,
  token: workerToken,
  pid: process.pid,
  threadId,
}));
