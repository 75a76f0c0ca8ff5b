// Test-side helpers for the CPython port (not imported by workers).
import { Pool, type PoolOptions } from '../../src/index.js';

/** CPython's TIMEOUT1/TIMEOUT2 (0.1 s with CHECK_TIMINGS off), in milliseconds. */
export const TIMEOUT1 = 100;
export const TIMEOUT2 = 100;

/** How long one test may take before it is failed, so a hang fails the test instead of the run. */
export const TEST_LIMIT_MS = 10_000;

/** CPython's `SayWhenError(ValueError)`. */
export class SayWhenError extends RangeError {
  override name = 'SayWhenError';
}

/** CPython's `exception_throwing_generator(total, when)`. */
export function* exceptionThrowingGenerator(total: number, when: number): Generator<number> {
  if (when === -1) throw new SayWhenError('Somebody said when');
  for (let i = 0; i < total; i++) {
    if (i === when) throw new SayWhenError('Somebody said when');
    yield i;
  }
}

/** `[0, 1, ..., n - 1]`, Python's `list(range(n))`. */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects if `promise` has not settled within `ms`: a hung pool fails the test instead of the run. */
export async function within<T>(promise: Promise<T>, ms = TEST_LIMIT_MS, what = 'the test'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (hang?)`)), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `body` with a fresh pool, fails it if it hangs, and always terminates the pool afterwards, so a
 * failing or hanging test leaves no worker behind.
 */
export async function withPool<T>(
  options: PoolOptions,
  body: (pool: Pool) => Promise<T>,
  ms = TEST_LIMIT_MS,
): Promise<T> {
  const pool = new Pool(options);
  try {
    return await within(body(pool), ms);
  } finally {
    await pool.terminate();
  }
}

/** Drains an async iterator into an array, Python's `list(it)`. */
export async function list<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

/** Awaits a promise that must reject, and returns what it rejected with. */
export async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
