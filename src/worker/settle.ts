// `settle: true`, the worker's side: the call's function runs wrapped, so that an item's error is that item's
// outcome (a SettledRecord) and not its chunk's. The pool turns the records back into Promise.allSettled's shape
// (settled.ts).
import { tooDeep } from '../depth.js';
import { SerializationError } from '../errors.js';
import type { SettledRecord } from '../protocol.js';
import { serializeError } from '../wire/errors.js';
import { isThenable } from './thenable.js';

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
