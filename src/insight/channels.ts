// The pool's diagnostics channels (node:diagnostics_channel), the way Node's own http and undici expose theirs:
// a tracer or a metrics exporter subscribes by name, and a pool with no subscriber pays one property read.
import { channel } from 'node:diagnostics_channel';
import type { WorkerEnd } from '../errors.js';
import type { FnRef } from '../protocol.js';

/**
 * What mpool:worker publishes: `pool` is the pool's id (see newPoolId), `worker` the pool's number for the
 * worker (the initializer's `workerId`).
 */
export type WorkerEvent = { pool: number } & WorkerEventBody;

type WorkerEventBody =
  | {
      event: 'started';
      worker: number;
      pid: number | undefined;
      threadId: number | undefined;
      replaced: Ended | undefined;
    }
  | { event: 'ready'; worker: number }
  | ({ event: 'replaced'; worker: number; by: number } & Ended)
  | ({
      event: 'lost' | 'stopped';
      worker: number;
      pid: number | undefined;
      threadId: number | undefined;
      chunks: number;
      items: number;
    } & Omit<Ended, 'id'>);

/** A worker that ended: its number, the typed kind of what ended it, and that in words. */
export interface Ended {
  id: number;
  kind: WorkerEnd;
  reason: string;
}

/** What mpool:call publishes: a call's start, then its end or its first error. Times in ms since the epoch. */
export type CallEvent = { pool: number } & CallEventBody;

type CallEventBody =
  | { event: 'start'; call: number; method: string; fn: string; items: number | undefined; at: number }
  | {
      event: 'end';
      call: number;
      method: string;
      fn: string;
      at: number;
      ms: number;
      items: number;
      failed: number;
    }
  | { event: 'error'; call: number; method: string; fn: string; at: number; ms: number; error: unknown };

/** One message per settled chunk: a ChunkSample (see insight/stats.ts). */
export const chunkChannel = channel('mpool:chunk');
/** A worker started, became ready, was replaced, lost (with the typed kind that ended it) or stopped. */
export const workerChannel = channel('mpool:worker');
/** A call (map, apply, imap, ...) started, ended, or failed. */
export const callChannel = channel('mpool:call');

/**
 * The name a function is known by in events: an inline function's own name, or a task()'s module file and
 * its place among that module's task() calls ("tasks.js#0", as its registration key ends).
 */
export function fnName(fn: FnRef): string {
  if (fn.kind === 'inline') return fn.name || '(anonymous)';
  return fn.key.slice(fn.key.lastIndexOf('/') + 1);
}

let nextCall = 1;
let nextPool = 1;

/** A new pool's id, unique in this process: every event names its pool by it. */
export function newPoolId(): number {
  return nextPool++;
}

/** A new call's id, unique in this process: chunk and call messages name their call by it. */
export function newCallId(): number {
  return nextCall++;
}

/** A call as mpool:call publishes it: its start, then its end or its first error, once. */
export class CallTrace {
  readonly #pool: number;
  readonly #call: number;
  readonly #method: string;
  readonly #fn: string;
  readonly #startedAt = Date.now();
  #over = false;

  constructor(pool: number, call: number, method: string, fn: FnRef, items: number | undefined) {
    this.#pool = pool;
    this.#call = call;
    this.#method = method;
    this.#fn = fnName(fn);
    const start: CallEvent = { event: 'start', pool, call, method, fn: this.#fn, items, at: this.#startedAt };
    callChannel.publish(start);
  }

  /** The call delivered its results: `items` of them, `failed` of which are failures (with `settle`). */
  end(items: number, failed = 0): void {
    this.#finish({ event: 'end', items, failed });
  }

  /** The call failed: its first error, which its caller gets. */
  error(error: unknown): void {
    this.#finish({ event: 'error', error });
  }

  #finish(
    outcome: { event: 'end'; items: number; failed: number } | { event: 'error'; error: unknown },
  ): void {
    if (this.#over) return;
    this.#over = true;
    const at = Date.now();
    const ms = at - this.#startedAt;
    const { pool, call, method, fn } = {
      pool: this.#pool,
      call: this.#call,
      method: this.#method,
      fn: this.#fn,
    };
    callChannel.publish({ pool, call, method, fn, at, ms, ...outcome } satisfies CallEvent);
  }
}

/** A trace for a call starting now, or null when no one listens on mpool:call (the usual case: no cost). */
export function traceCall(
  pool: number,
  call: number,
  method: string,
  fn: FnRef,
  items: number | undefined,
): CallTrace | null {
  return callChannel.hasSubscribers ? new CallTrace(pool, call, method, fn, items) : null;
}
