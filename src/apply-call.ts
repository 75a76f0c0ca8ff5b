// One applyAsync in flight: a single chunk of one argument tuple, which is also that chunk's job.
import { type AsyncResult, failResult, fulfilResult } from './async-result.js';
import type { CallHost, ChunkOwner } from './call.js';
import { AbortError } from './errors.js';
import type { ChunkJob, ChunkResult, ChunkState } from './executor.js';
import { type CallTrace, newCallId, traceCall } from './insight/channels.js';
import type { FnRef } from './protocol.js';

/**
 * One applyAsync in flight: a single chunk of one argument tuple, and that chunk's job itself, so that each
 * of many tiny tasks costs one object here rather than two (fewer bytes for the garbage collector to copy
 * while thousands wait).
 */
export class ApplyCall implements ChunkOwner, ChunkJob {
  id = 0;
  readonly call = newCallId();
  readonly fnId: number;
  readonly fn: FnRef;
  readonly items: ArrayLike<unknown>;
  readonly star = true;
  readonly base = 0;
  readonly timeout: number | null;
  retries: number;
  readonly exclusive: boolean;
  // The chunk's record (see ChunkJob), on the apply itself: one object per task.
  state: ChunkState = 'queued';
  worker = 0;
  attempts = 0;
  queuedAt = 0;
  sentAt = -1;
  copyUs = 0;
  readonly #host: CallHost;
  readonly #result: AsyncResult<any>;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;
  readonly #trace: CallTrace | null;

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
    this.#signal = signal;
    this.#trace = traceCall(host.pool, this.call, 'apply', fn, 1);
    if (signal) {
      this.#onAbort = () => this.abort(new AbortError(undefined, { cause: signal.reason }), true);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  settle(_id: number, result: ChunkResult): void {
    this.#done();
    if (result.ok) {
      this.#trace?.end(1);
      fulfilResult(this.#result, result.values[0]);
    } else {
      this.#trace?.error(result.error);
      failResult(this.#result, result.error);
    }
  }

  abort(error: unknown, stopRunning: boolean): void {
    this.#host.cancel(new Set([this.id]), stopRunning);
    this.#done();
    this.#trace?.error(error);
    failResult(this.#result, error);
  }

  #done(): void {
    this.#host.forget(this);
    if (this.#onAbort) this.#signal!.removeEventListener('abort', this.#onAbort);
  }
}
