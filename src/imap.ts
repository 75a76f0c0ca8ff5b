// The iterator behind imap and imapUnordered: yields results as the consumer pulls, holding back the input.
import type { Call, CallConsumer } from './call.js';
import { ReorderBuffer } from './chunks.js';
import type { ProgressReporter } from './progress.js';

type Entry = { values: ArrayLike<unknown> } | { error: unknown };

interface Waiter {
  resolve(result: IteratorResult<unknown>): void;
  reject(error: unknown): void;
}

export class ImapIterator<R> implements AsyncIterableIterator<R>, CallConsumer {
  readonly #ordered: boolean;
  readonly #reorder = new ReorderBuffer<Entry>();
  readonly #arrived: Entry[] = [];
  #call: Call | null = null;
  #current: ArrayLike<unknown> | null = null;
  #pos = 0;
  #ended = false;
  #failure: { error: unknown } | null = null;
  #closed = false;
  readonly #waiters: Waiter[] = [];
  readonly #progress: ProgressReporter | undefined;

  constructor(ordered: boolean, progress?: ProgressReporter) {
    this.#ordered = ordered;
    this.#progress = progress;
  }

  /** @internal */
  attach(call: Call): void {
    this.#call = call;
  }

  chunk(seq: number, _base: number, values: ArrayLike<unknown>): void {
    this.#put(seq, { values });
  }

  chunkError(seq: number, error: unknown): void {
    this.#put(seq, { error });
  }

  fail(error: unknown): void {
    this.#progress?.stop();
    this.#failure = { error };
    this.#wake();
  }

  end(): void {
    this.#progress?.stop();
    this.#ended = true;
    this.#wake();
  }

  #put(seq: number, entry: Entry): void {
    if (this.#ordered) this.#reorder.put(seq, entry);
    else this.#arrived.push(entry);
    this.#wake();
  }

  #wake(): void {
    while (this.#waiters.length > 0) {
      const step = this.#step();
      if (step === undefined) return;
      const waiter = this.#waiters.shift()!;
      if ('error' in step) waiter.reject(step.error);
      else waiter.resolve(step.result);
    }
  }

  // The next thing to hand out, or undefined when nothing is ready yet.
  #step(): { result: IteratorResult<unknown> } | { error: unknown } | undefined {
    if (this.#closed) return { result: { done: true, value: undefined } };
    if (this.#current && this.#pos < this.#current.length) {
      return { result: { done: false, value: this.#current[this.#pos++] } };
    }
    if (this.#current) {
      this.#current = null;
      this.#call?.release();
    }
    const entry = this.#ordered ? this.#reorder.take() : this.#arrived.shift();
    if (entry) {
      if ('error' in entry) {
        // Like a generator that threw, the iterator is finished: the rest of the call is cancelled.
        this.#close();
        return { error: entry.error };
      }
      this.#current = entry.values;
      this.#pos = 0;
      return this.#step();
    }
    if (this.#failure) {
      const { error } = this.#failure;
      this.#close();
      return { error };
    }
    if (this.#ended) return { result: { done: true, value: undefined } };
    return undefined;
  }

  #close(): void {
    if (this.#closed) return;
    this.#progress?.stop();
    this.#closed = true;
    // Finished by an error or a `break`: the call's queued chunks are dropped and its running ones stopped.
    this.#call?.stop(true);
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#waiters.length === 0) {
      const step = this.#step();
      if (step !== undefined) {
        return 'error' in step
          ? Promise.reject(step.error)
          : Promise.resolve(step.result as IteratorResult<R>);
      }
    }
    return new Promise<IteratorResult<unknown>>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    }) as Promise<IteratorResult<R>>;
  }

  /** Breaking out of a for-await loop lands here: the rest of the call is cancelled. */
  return(): Promise<IteratorResult<R>> {
    this.#close();
    this.#wake();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
