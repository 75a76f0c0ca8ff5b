// AsyncResult: Python's handle on a pending call — get / wait / ready / successful — and a native Promise.
import { CallbackError, NotReadyError, TimeoutError } from './errors.js';
import { received } from './options.js';
import { after } from './timer.js';

export interface Callbacks<T> {
  /** Called once with the whole result. If it throws, the result rejects with a CallbackError. */
  callback?: ((value: T) => void) | undefined;
  /** Called once with the first error. If it throws, the result rejects with a CallbackError. */
  errorCallback?: ((error: unknown) => void) | undefined;
}

// Infinity waits as long as no timeout does.
function checkTimeout(timeout: unknown): number | undefined {
  if (timeout === undefined || timeout === null || timeout === Number.POSITIVE_INFINITY) return undefined;
  if (typeof timeout !== 'number' || !(timeout >= 0)) {
    throw new RangeError(
      `Expected \`timeout\` to be a number of milliseconds >= 0, got ${received(timeout)}`,
    );
  }
  return timeout;
}

/** Settles a result from inside mpool; AsyncResult has no public way to be settled. */
export let fulfilResult: <T>(result: AsyncResult<T>, value: T) => void;
export let failResult: <T>(result: AsyncResult<T>, error: unknown) => void;

const ignore = (): void => {};

// The settling functions of the promise being made: one executor for every AsyncResult, rather than a
// closure and its context per result (about 100 bytes each, for every one of many tiny applies in flight).
// The Promise constructor calls it synchronously, so nothing runs between it and their being read.
let madeResolve: ((value: any) => void) | undefined;
let madeReject: ((error: unknown) => void) | undefined;
function keep(resolve: (value: any) => void, reject: (error: unknown) => void): void {
  madeResolve = resolve;
  madeReject = reject;
}

/**
 * The pending result of an `*Async` call, as in Python. Timeouts are in milliseconds, and `get()` returns a
 * promise. It is also a Promise itself: `await pool.mapAsync(f, xs)` gives the list, and
 * `Promise.all(results)` waits for many.
 *
 * It is a native promise rather than a thenable so that `await` and `Promise.all` adopt it directly. A
 * thenable costs each of them a wrapper promise, an extra microtask and a call of `then`: for 20,000
 * applyAsync results in one Promise.all, that was about twice the time and 500 more bytes per pending
 * result (see the note under the class on `constructor`).
 */
export class AsyncResult<T> extends Promise<T> {
  #state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  readonly #resolve: (value: T) => void;
  readonly #reject: (error: unknown) => void;
  readonly #callbacks: Callbacks<T> | undefined;

  static {
    fulfilResult = (result, value) => result.#fulfil(value);
    failResult = (result, error) => result.#fail(error);
  }

  /**
   * Made by the Pool. `start`, when given, receives the functions that settle the result, as a Promise
   * executor does.
   */
  constructor(
    start?: (fulfil: (value: T) => void, fail: (error: unknown) => void) => void,
    callbacks?: Callbacks<T>,
  ) {
    super(keep);
    this.#resolve = madeResolve!;
    this.#reject = madeReject!;
    // Not kept past here: they hold the promise, and so its value, alive.
    madeResolve = madeReject = undefined;
    this.#callbacks = callbacks;
    start?.(
      (value) => this.#fulfil(value),
      (error) => this.#fail(error),
    );
  }

  #fulfil(value: T): void {
    if (this.#state !== 'pending') return;
    const callback = this.#callbacks?.callback;
    if (callback) {
      try {
        callback(value);
      } catch (err) {
        this.#settleRejected(new CallbackError('callback', { cause: err }));
        return;
      }
    }
    this.#state = 'fulfilled';
    this.#resolve(value);
  }

  #fail(error: unknown): void {
    if (this.#state !== 'pending') return;
    const errorCallback = this.#callbacks?.errorCallback;
    if (errorCallback) {
      try {
        errorCallback(error);
      } catch (err) {
        const wrapped = new CallbackError('errorCallback', { cause: err });
        Object.defineProperty(wrapped, 'error', { value: error, enumerable: true });
        this.#settleRejected(wrapped);
        return;
      }
    }
    this.#settleRejected(error);
  }

  // A failure nobody waits for (read through errorCallback or successful(), or not at all) must not become
  // an unhandled rejection, as Python's AsyncResult never raises unasked. So the result itself counts as
  // handled; whoever does wait (await, then, get) still gets the error on their own promise.
  #settleRejected(error: unknown): void {
    this.#state = 'rejected';
    super.then(undefined, ignore);
    this.#reject(error);
  }

  /**
   * The value, once ready. With `timeout` (ms) it rejects with TimeoutError if not ready by then; the call
   * goes on, and get() can be called again.
   */
  get(timeout?: number): Promise<T> {
    const ms = checkTimeout(timeout);
    const settled = super.then();
    if (ms === undefined || this.#state !== 'pending') return settled;
    return new Promise<T>((resolve, reject) => {
      const timer = after(ms, () => reject(new TimeoutError(ms)));
      settled.then(
        (value) => {
          timer.clear();
          resolve(value);
        },
        (error) => {
          timer.clear();
          reject(error);
        },
      );
    });
  }

  /** Resolves true once the result is ready, or false when `timeout` (ms) passes first. Never rejects. */
  wait(timeout?: number): Promise<boolean> {
    const ms = checkTimeout(timeout);
    const settled = super.then(
      () => true,
      () => true,
    );
    if (ms === undefined || this.#state !== 'pending') return settled;
    return new Promise<boolean>((resolve) => {
      const timer = after(ms, () => resolve(false));
      void settled.then(() => {
        timer.clear();
        resolve(true);
      });
    });
  }

  /** Whether the call has completed. */
  ready(): boolean {
    return this.#state !== 'pending';
  }

  /** Whether the call completed without error. Throws NotReadyError before it is ready, as Python raises. */
  successful(): boolean {
    if (this.#state === 'pending') throw new NotReadyError();
    return this.#state === 'fulfilled';
  }
}

// `await x` and `Promise.all` take a promise as it is only when its `constructor` is Promise itself;
// otherwise they treat it as a foreign thenable. Saying Promise here also makes every promise derived from an
// AsyncResult (then, catch, finally) a plain Promise, which is what those methods should return: an
// AsyncResult is only ever made by the Pool. `instanceof AsyncResult` is unaffected.
Object.defineProperty(AsyncResult.prototype, 'constructor', {
  value: Promise,
  writable: true,
  configurable: true,
});
