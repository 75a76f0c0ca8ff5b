// Running one chunk: load its function, call it on each item (synchronously while results are plain values),
// and make the chunk's outcome. No messages here: the loop decides when outcomes go.
//
// The task is called as fn.call(undefined, item), not fn(item): on Node 24, Maglev inlines a small hot function
// into the loop that calls it directly, and a CPU-bound task inlined there ran about 25 % slower from the second
// chunk on (5.4 to 6.5 ms per call of a busy loop, for good), while Turbofan's own code for it stays fast.
// Maglev does not inline through Function.prototype.call; Node 20 and 22 never did this.
import { findTooDeep, TOO_DEEP } from '../depth.js';
import { SerializationError } from '../errors.js';
import type { ChunkOut, FnRef, Outcome } from '../protocol.js';
import { serializeError } from '../wire/errors.js';
import { isSharedView, sharedResults } from '../wire/shared.js';
import { explainInlineError, type LoadedFn, loadFn } from './load.js';
import { settling } from './settle.js';
import { isThenable } from './thenable.js';

// What a task threw is read here too (is it a ReferenceError, what is its message): a throwing getter or
// Proxy must leave it as it is, for serializeError to describe as far as it can.
export function explain(ref: FnRef, err: unknown): unknown {
  try {
    return explainInlineError(ref, err);
  } catch {
    return err;
  }
}

/** What the runner needs from the loop: the functions it was sent, and a word when a chunk has values. */
export interface RunnerHost {
  readonly refs: ReadonlyMap<number, FnRef>;
  /** A chunk is about to wait on a promise: results finished so far may go now. */
  beforeWait(): void;
  /** A chunk produced values: its first item's position, and whether it is of a `settle: true` call. */
  produced(chunk: ChunkOut, settle: boolean): void;
}

export class Runner {
  readonly #host: RunnerHost;

  constructor(host: RunnerHost) {
    this.#host = host;
  }

  run(chunk: ChunkOut): Outcome | Promise<Outcome> {
    const ref = this.#host.refs.get(chunk.fn);
    if (!ref)
      return fail(chunk, new Error(`mpool internal: function #${chunk.fn} was never sent`), undefined);
    let loaded: LoadedFn | Promise<LoadedFn>;
    try {
      loaded = loadFn(ref);
    } catch (err) {
      return fail(chunk, err, ref);
    }
    const shared = !chunk.star && isSharedView(chunk.items) && !ref.settle;
    const run = (loadedFn: LoadedFn): Outcome | Promise<Outcome> => {
      const fn = ref.settle ? settling(loadedFn, (err) => explain(ref, err)) : loadedFn;
      return shared
        ? this.#runShared(chunk, fn, ref)
        : this.#runFrom(chunk, fn, ref, new Array(chunk.items.length), 0);
    };
    if (!isThenable(loaded)) return run(loaded);
    return loaded.then(run, (err: unknown) => fail(chunk, err, ref));
  }

  // Runs the items from `start` on, synchronously while results are plain values; an async result
  // switches to the awaiting path for the rest of the chunk.
  #runFrom(
    chunk: ChunkOut,
    fn: LoadedFn,
    ref: FnRef,
    values: unknown[],
    start: number,
  ): Outcome | Promise<Outcome> {
    const { items, star } = chunk;
    const n = items.length;
    try {
      for (let i = start; i < n; i++) {
        const value = star ? fn(...(items[i] as unknown[])) : fn.call(undefined, items[i]);
        if (isThenable(value)) return this.#awaitFrom(chunk, fn, ref, values, i, value);
        values[i] = value;
      }
    } catch (err) {
      return fail(chunk, err, ref);
    }
    const deep = findTooDeep(values);
    if (deep >= 0) {
      return {
        id: chunk.id,
        ok: false,
        error: serializeError(new SerializationError(chunk.base + deep, 'result', TOO_DEEP)),
      };
    }
    this.#host.produced(chunk, ref.settle === true);
    return { id: chunk.id, ok: true, values };
  }

  async #awaitFrom(
    chunk: ChunkOut,
    fn: LoadedFn,
    ref: FnRef,
    values: unknown[],
    i: number,
    pending: PromiseLike<unknown>,
  ): Promise<Outcome> {
    this.#host.beforeWait();
    try {
      values[i] = await pending;
    } catch (err) {
      return fail(chunk, err, ref);
    }
    return this.#runFrom(chunk, fn, ref, values, i + 1);
  }

  // Numbers in, numbers out: a chunk whose items are a view of a shared page writes its results into that
  // page (see sharedResults) until a result is not a number; from there on, the general path takes over.
  #runShared(chunk: ChunkOut, fn: LoadedFn, ref: FnRef): Outcome | Promise<Outcome> {
    const items = chunk.items as Float64Array;
    const out = sharedResults(items);
    const n = items.length;
    try {
      for (let i = 0; i < n; i++) {
        const value = fn.call(undefined, items[i]);
        if (typeof value !== 'number') {
          const values: unknown[] = new Array(n);
          for (let k = 0; k < i; k++) values[k] = out[k];
          if (isThenable(value)) return this.#awaitFrom(chunk, fn, ref, values, i, value);
          values[i] = value;
          return this.#runFrom(chunk, fn, ref, values, i + 1);
        }
        out[i] = value;
      }
    } catch (err) {
      return fail(chunk, err, ref);
    }
    this.#host.produced(chunk, false);
    return { id: chunk.id, ok: true, values: out };
  }
}

function fail(chunk: ChunkOut, err: unknown, ref: FnRef | undefined): Outcome {
  return { id: chunk.id, ok: false, error: serializeError(ref ? explain(ref, err) : err) };
}
