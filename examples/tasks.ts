// Module-level tasks for the examples: workers import this module and find each task by its place in it.
import { createHash } from 'node:crypto';
import { task } from 'mpool';

/** JavaScript has no ZeroDivisionError (5 / 0 is Infinity), so the seed's intent is spelled out. */
export class ZeroDivisionError extends Error {
  override name = 'ZeroDivisionError';
}

/**
 * The seed's `divide(x, y)`. Like Python, it insists on both arguments, so the seed's mistake (map passing
 * one tuple) fails the way it does in Python instead of quietly returning NaN.
 */
export const divide = task(import.meta.url, (...args: [x: number, y: number]) => {
  if (args.length < 2) throw new TypeError("divide() missing 1 required positional argument: 'y'");
  const [x, y] = args;
  if (y === 0) throw new ZeroDivisionError('division by zero');
  return x / y;
});

/** time.sleep(1): blocks the worker's thread, as a CPU-bound task would. */
export const blockingTask = task(import.meta.url, (num: number) => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  return num * num;
});

/** await asyncio.sleep(1): the worker awaits the promise the task returns. */
export const asyncTask = task(import.meta.url, async (num: number) => {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return num * num;
});

/** A CPU-bound task of about 10 ms: squares its argument the slow way (the observability example). */
export const spin = task(import.meta.url, (num: number) => {
  const end = performance.now() + 10;
  while (performance.now() < end);
  return num * num;
});

/**
 * The hash server's work: SHA-256 of a request body, then of that digest `rounds` more times (key stretching, as
 * a password hash does), so each request costs a steady, tunable amount of CPU.
 */
export const hashBody = task(import.meta.url, (body: Uint8Array, rounds: number) => {
  let digest = createHash('sha256').update(body).digest();
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest();
  return digest.toString('hex');
});
