// `settle: true`: every item's outcome in the shape of Promise.allSettled. A worker runs such a call's
// function wrapped, so that an item's error is that item's outcome and not its chunk's; the pool turns the
// outcomes that cross back into `{ status, value }` and `{ status, reason }`. Shared by the pool, the worker
// loop and the Redis node.
import { TOO_DEEP, tooDeep } from './depth.js';
import { deserializeError, SerializationError, serializeError, type WireError } from './errors.js';
import { isThenable } from './thenable.js';

/** One item's outcome as it crosses from a worker: its value, or its error as errors cross. */
export type SettledRecord =
  | { ok: true; value: unknown }
  | { ok: false; error: WireError }
  /** The value nests deeper than the pool could read back; the pool names the item (it knows the index). */
  | { ok: false; deep: true };

type Fn = (...args: unknown[]) => unknown;

const settledFns = new WeakMap<Fn, Fn>();

/**
 * `fn`, wrapped to return a SettledRecord for every call, whether it returns, resolves, throws or rejects.
 * `explain` adds what the worker knows about an error (a captured variable in an inline function).
 */
export function settling(fn: Fn, explain: (err: unknown) => unknown): Fn {
  let wrapped = settledFns.get(fn);
  if (wrapped) return wrapped;
  const rejected = (err: unknown): SettledRecord => ({ ok: false, error: serializeError(explain(err)) });
  wrapped = (...args: unknown[]): unknown => {
    let value: unknown;
    try {
      value = fn(...args);
    } catch (err) {
      return rejected(err);
    }
    if (isThenable(value)) return Promise.resolve(value).then(fulfilled, rejected);
    return fulfilled(value);
  };
  settledFns.set(fn, wrapped);
  return wrapped;
}

function fulfilled(value: unknown): SettledRecord {
  const record: SettledRecord = { ok: true, value };
  // The record adds a level: checked whole, it can never make its chunk's results too deep to send.
  return tooDeep(record) ? { ok: false, deep: true } : record;
}

/** A record for an item whose result could not be cloned, found by the worker when its batch would not go. */
export function unsendable(index: number, reason: string): SettledRecord {
  return { ok: false, error: serializeError(new SerializationError(index, 'result', reason)) };
}

/** The records of a chunk starting at input position `base`, as Promise.allSettled gives outcomes. */
export function fromRecords(records: ArrayLike<unknown>, base: number): PromiseSettledResult<unknown>[] {
  const out: PromiseSettledResult<unknown>[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as SettledRecord | null;
    if (record?.ok === true) out[i] = { status: 'fulfilled', value: record.value };
    else if (record && 'error' in record)
      out[i] = { status: 'rejected', reason: deserializeError(record.error) };
    else if (record && 'deep' in record)
      out[i] = { status: 'rejected', reason: new SerializationError(base + i, 'result', TOO_DEEP) };
    else
      out[i] = {
        status: 'rejected',
        reason: new TypeError(`mpool internal: item ${base + i} came back without an outcome`),
      };
  }
  return out;
}

/** A chunk that failed as a whole (its worker was lost, it timed out, an argument could not be sent): each item rejected with that error. */
export function allRejected(error: unknown, n: number): PromiseSettledResult<unknown>[] {
  const out: PromiseSettledResult<unknown>[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = { status: 'rejected', reason: error };
  return out;
}

/** Outcomes as the Redis node sends them back: records again, the errors' item positions in the call's input. */
export function toRecords(
  outcomes: readonly PromiseSettledResult<unknown>[],
  reasonOf: (reason: unknown) => unknown,
): SettledRecord[] {
  return outcomes.map((o) =>
    o.status === 'fulfilled'
      ? { ok: true, value: o.value }
      : { ok: false, error: serializeError(reasonOf(o.reason)) },
  );
}
