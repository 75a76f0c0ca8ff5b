// One applyAsync in flight: a single chunk of one argument tuple, which is also that chunk's job.
import { type AsyncResult, failResult, fulfilResult } from './async-result.js';
import type { CallHost } from './call.js';
import { AbortError } from './errors.js';
import type { ChunkJob, ChunkOwner, ChunkResult, ChunkState, ChunkTimes } from './executor.js';
import { type CallTrace, newCallId, traceCall } from './insight/channels.js';
import type { FnRef } from './protocol.js';

/** The traces of applies made while mpool:call had a subscriber (rare: kept off the object itself). */
const traces = new WeakMap<ApplyCall, CallTrace>();
let traced = 0;

/**
 * One applyAsync in flight: a single chunk of one argument tuple, and that chunk's job itself, so that each
 * of many tiny tasks costs one object here rather than two. Thousands of them wait at once, and the garbage
 * collector copies each while it waits: what every apply has in common (star, base) is on the prototype,
 * and what few have (a signal, a trace) is kept elsewhere or together.
 */
export class ApplyCall implements ChunkOwner, ChunkJob {
  id = 0;
  readonly call = newCallId();
  /** The apply is its chunk's owner as well as its job. */
  get owner(): this {
    return this;
  }
  readonly fnId: number;
  readonly fn: FnRef;
  readonly items: ArrayLike<unknown>;
  readonly timeout: number | null;
  retries: number;
  readonly exclusive: boolean;
  // The chunk's record (see ChunkJob), on the apply itself.
  state: ChunkState = 'queued';
  worker = 0;
  attempts = 0;
  times: ChunkTimes | null = null;
  readonly #host: CallHost;
  readonly #result: AsyncResult<any>;
  readonly #abort: { signal: AbortSignal; listener: () => void } | undefined;
  /** The applies waiting for an outcome, linked through these (see Calls.abortCalls). */
  newer: ApplyCall | null = null;
  older: ApplyCall | null = null;

  constructor(
    host: CallHost,
    result: AsyncResult<any>,
    signal: AbortSignal | undefined,
    fnId: number,
    fn: FnRef,
    args: unknown[],
    limits: { timeout: number | null; retries: number },
  ) {
    this.fnId = fnId;
    this.fn = fn;
    this.items = [args];
    this.timeout = limits.timeout;
    this.retries = limits.retries;
    // A timeout or an abort stops the chunk's worker, so the chunk must have that worker to itself.
    this.exclusive = limits.timeout !== null || signal !== undefined;
    this.#host = host;
    this.#result = result;
    const trace = traceCall(host.pool, this.call, 'apply', fn, 1);
    if (trace) {
      traces.set(this, trace);
      traced++;
    }
    if (signal) {
      const listener = () => this.abort(new AbortError(undefined, { cause: signal.reason }), true);
      this.#abort = { signal, listener };
      signal.addEventListener('abort', listener, { once: true });
    }
  }

  /** An apply's one chunk holds one tuple of arguments: it is a star chunk, at the start of its call. */
  get star(): true {
    return true;
  }

  get base(): 0 {
    return 0;
  }

  settle(_id: number, result: ChunkResult): void {
    // Aborted meanwhile: its result has its error already.
    if (this.#result.ready()) return;
    const trace = this.#done();
    if (result.ok) {
      trace?.end(1);
      fulfilResult(this.#result, result.values[0]);
    } else {
      trace?.error(result.error);
      failResult(this.#result, result.error);
    }
  }

  abort(error: unknown, stopRunning: boolean): void {
    if (this.#result.ready()) return;
    this.#host.cancel(new Set([this.id]), stopRunning);
    this.#done()?.error(error);
    failResult(this.#result, error);
  }

  /** Leaves the pool's books and the signal; its trace, if it has one. */
  #done(): CallTrace | undefined {
    this.#host.forget(this);
    if (this.#abort) this.#abort.signal.removeEventListener('abort', this.#abort.listener);
    if (traced === 0) return undefined;
    const trace = traces.get(this);
    if (trace) {
      traces.delete(this);
      traced--;
    }
    return trace;
  }
}
