// Whether a value is a promise or promise-like: a task's result is awaited only then, so that plain values
// stay on the synchronous path. For the worker loop and `settle: true`'s wrapper (settle.ts).
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
