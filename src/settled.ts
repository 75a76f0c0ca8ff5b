// `settle: true`, the pool's side: each item's outcome, as a worker returns it (a SettledRecord, see
// worker/settle.ts), in the shape of Promise.allSettled. Also used by the Redis node, which sends its local
// pool's outcomes on as records.
import { TOO_DEEP } from './depth.js';
import { SerializationError } from './errors.js';
import type { SettledRecord } from './protocol.js';
import { deserializeError, serializeError } from './wire/errors.js';

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
