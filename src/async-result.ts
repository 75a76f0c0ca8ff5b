// AsyncResult: Python's handle on a pending call — get / wait / ready / successful — and awaitable.
import { CallbackError, NotReadyError, TimeoutError } from './errors.js';
import { received } from './options.js';

export interface Callbacks<T> {
  /** Called once with the whole result. If it throws, the result rejects with a CallbackError. */
  callback?: ((value: T) => void) | undefined;
  /** Called once with the first error. If it throws, the result rejects with a CallbackError. */
  errorCallback?: ((error: unknown) => void) | undefined;
}

function checkTimeout(timeout: unknown): number | undefined {
  if (timeout === undefined || timeout === null) return undefined;
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

/**
 * The pending result of an `*Async` call, as in Python. Timeouts are in milliseconds, and `get()` returns a
 * promise. It is also awaitable: `await pool.mapAsync(f, xs)` gives the list.
 */
export class AsyncResult<T> implements PromiseLike<T> {
  #state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  #value: T | undefined;
  #error: unknown;
  // The promise is made only when someone waits: cheaper for many small tasks, and a failure read only
  // through errorCallback never becomes an unhandled rejection.
  #promise: Promise<T> | null = null;
  #resolve: ((value: T) => void) | null = null;
  #reject: ((error: unknown) => void) | null = null;
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
    this.#value = value;
    this.#resolve?.(value);
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

  #settleRejected(error: unknown): void {
    this.#state = 'rejected';
    this.#error = error;
    this.#reject?.(error);
  }

  #settled(): Promise<T> {
    if (this.#promise) return this.#promise;
    if (this.#state === 'fulfilled') this.#promise = Promise.resolve(this.#value as T);
    else if (this.#state === 'rejected') this.#promise = Promise.reject(this.#error);
    else {
      this.#promise = new Promise<T>((resolve, reject) => {
        this.#resolve = resolve;
        this.#reject = reject;
      });
    }
    return this.#promise;
  }

  /**
   * The value, once ready. With `timeout` (ms) it rejects with TimeoutError if not ready by then; the call
   * goes on, and get() can be called again.
   */
  get(timeout?: number): Promise<T> {
    const ms = checkTimeout(timeout);
    const settled = this.#settled();
    if (ms === undefined || this.#state !== 'pending') return settled;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
      settled.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** Resolves true once the result is ready, or false when `timeout` (ms) passes first. Never rejects. */
  wait(timeout?: number): Promise<boolean> {
    const ms = checkTimeout(timeout);
    const settled = this.#settled().then(
      () => true,
      () => true,
    );
    if (ms === undefined || this.#state !== 'pending') return settled;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      void settled.then(() => {
        clearTimeout(timer);
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

  // biome-ignore lint/suspicious/noThenProperty: AsyncResult is deliberately awaitable.
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#settled().then(onfulfilled, onrejected);
  }
}
