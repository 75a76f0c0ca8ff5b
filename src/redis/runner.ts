// How a worker node runs a chunk: on its local pool, so that user code never holds the event loop that renews
// BullMQ's locks, or, for a chunk whose work takes microseconds, on the node's own thread. For such a chunk the
// round trip to a worker thread is most of its cost: a map of x * 2 in chunks of 1000 ran at about half the
// speed of a BullMQ Worker computing inline. As the local pool merges tiny chunks, a node runs a chunk itself
// once its function's measured cost says it takes less than `--inline-under` (NODE_INLINE_UNDER_MS).
//
// A function only ever runs here after it ran on a worker, and only while it stays that cheap: the cost of a
// chunk on a worker (round trip included, so never below the truth) or here is learnt per item after every
// chunk, good news at once and bad news by half. Async tasks (they wait on something, and a chunk that waits
// here could not be stopped), chunks with a timeout (enforced by stopping a worker) and chunks of a
// `settle: true` call always go to the workers.
import { performance } from 'node:perf_hooks';
import { findTooDeep, TOO_DEEP } from '../depth.js';
import { SerializationError, TaskRefusedError } from '../errors.js';
import type { Pool } from '../pool.js';
import { findUncloneable } from '../runtime/clone.js';
import { toRecords } from '../settled.js';
import { explainInlineError } from '../worker/load.js';
import { isThenable } from '../worker/thenable.js';
import { encodeResult, type JobData, type JobResult } from './wire.js';

type AnyFn = (...args: any[]) => unknown;

/** The local pool names items from 0; the submitter's input starts at the chunk's base. */
export function shiftIndex(err: unknown, base: number): unknown {
  if (err instanceof SerializationError && base > 0) {
    const index = err.index + base;
    err.message = err.message.replace(`item ${err.index}`, `item ${index}`);
    Object.defineProperty(err, 'index', { value: index, enumerable: true, configurable: true });
  }
  return err;
}

export class ChunkRunner {
  readonly #pool: Pool;
  readonly #underMs: number;
  readonly #maxPayload: number;
  /** Milliseconds per item of each function, as last measured. Functions are few and long-lived (tasks, cached inline ones). */
  readonly #msPerItem = new WeakMap<AnyFn, number>();
  /** Functions that returned a promise here: they stay on the workers from then on. */
  readonly #waits = new WeakSet<AnyFn>();

  constructor(pool: Pool, underMs: number, maxPayload: number) {
    this.#pool = pool;
    this.#underMs = underMs;
    this.#maxPayload = maxPayload;
  }

  /**
   * Runs a chunk and encodes its values; `toWorker` is called first when the chunk goes to a worker. Throws
   * what the chunk fails with, its item counted from the chunk's first: the task's error, or a
   * SerializationError naming the item whose value cannot travel.
   */
  async run(
    data: JobData,
    fn: AnyFn,
    items: unknown[],
    signal: AbortSignal,
    toWorker: () => void,
  ): Promise<JobResult> {
    const began = performance.now();
    let result: JobResult;
    if (this.#runsHere(fn, data, items.length)) {
      try {
        result = await this.#runHere(fn, items, data.star);
      } catch (err) {
        // As a worker explains it: inline source cannot see the scope it was written in.
        const { fn: ref } = data;
        throw ref.kind === 'inline'
          ? explainInlineError({ kind: 'inline', source: ref.source, name: ref.name }, err)
          : err;
      }
    } else {
      toWorker();
      result = await this.#runOnPool(data, fn, items, signal);
      if (data.settle) return result; // its time includes failures, which say nothing of the next chunk
    }
    this.#learn(fn, performance.now() - began, items.length);
    return result;
  }

  /** Whether a chunk of `items` items runs on the node's own thread (measured tiny), not on a worker. */
  #runsHere(fn: AnyFn, data: JobData, items: number): boolean {
    if (this.#underMs <= 0 || data.timeout !== null || data.settle || this.#waits.has(fn)) return false;
    if (isAsync(fn)) {
      this.#waits.add(fn);
      return false;
    }
    const perItem = this.#msPerItem.get(fn);
    return perItem !== undefined && perItem * Math.max(1, items) < this.#underMs;
  }

  #learn(fn: AnyFn, ms: number, items: number): void {
    const sample = ms / Math.max(1, items);
    const old = this.#msPerItem.get(fn);
    this.#msPerItem.set(fn, old === undefined || sample < old ? sample : (old + sample) / 2);
  }

  async #runOnPool(data: JobData, fn: AnyFn, items: unknown[], signal: AbortSignal): Promise<JobResult> {
    const pool = this.#pool;
    const call = {
      chunksize: Math.max(1, items.length),
      timeout: data.timeout ?? undefined,
      retries: data.retries,
      signal,
    };
    let values: unknown[];
    if (data.settle) {
      // Every item's outcome goes back as the local workers give it, its error's item counted in the call.
      const settled = { ...call, settle: true as const };
      const outcomes = data.star
        ? await pool.starmap(fn, items as unknown[][], settled)
        : await pool.map(fn, items, settled);
      values = toRecords(outcomes, (reason) => shiftIndex(reason, data.base));
    } else {
      values = data.star
        ? await pool.starmap(fn, items as unknown[][], call)
        : await pool.map(fn, items, call);
    }
    return encodeResult(values, this.#maxPayload);
  }

  // As a worker runs a chunk: each item in turn, awaiting a promise where a task returns one.
  async #runHere(fn: AnyFn, items: unknown[], star: boolean): Promise<JobResult> {
    const n = items.length;
    const values: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) {
      // fn.call, not fn(): see worker/run.ts on Maglev inlining a CPU-bound task into its caller's loop.
      const value = star ? fn(...(items[i] as unknown[])) : fn.call(undefined, items[i]);
      if (isThenable(value)) {
        this.#waits.add(fn);
        values[i] = await value;
      } else values[i] = value;
    }
    const deep = findTooDeep(values);
    if (deep >= 0) throw new SerializationError(deep, 'result', TOO_DEEP);
    try {
      return encodeResult(values, this.#maxPayload);
    } catch (err) {
      if (!(err instanceof Error) || err instanceof TaskRefusedError) throw err;
      throw findUncloneable(values, 0, 'result') ?? new SerializationError(0, 'result', err.message);
    }
  }
}

function isAsync(fn: AnyFn): boolean {
  const tag = (fn as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  return tag === 'AsyncFunction' || tag === 'AsyncGeneratorFunction';
}
