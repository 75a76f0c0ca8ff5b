// The functions a pool has been given, each with the number its workers know it by. A function is turned into
// its reference (toFnRef: source text or module export) once; its settling variant is a function of its own.
import type { FnRef } from './protocol.js';
import { toFnRef } from './task.js';

export class FnRegistry {
  /** Ids by what identifies a function to a worker: its source text or module key. */
  readonly #ids = new Map<string, number>();
  readonly #plain = new WeakMap<object, [number, FnRef]>();
  readonly #settling = new WeakMap<object, [number, FnRef]>();

  /** The function's id and reference; `settle`: its settling variant (see FnRef.settle). */
  ref(fn: unknown, settle = false): [number, FnRef] {
    const cache = settle ? this.#settling : this.#plain;
    const cached = cache.get(fn as object);
    if (cached) return cached;
    const plain = toFnRef(fn);
    const ref: FnRef = settle ? { ...plain, settle: true } : plain;
    const key = (settle ? 'settle:' : '') + (ref.kind === 'inline' ? ref.source : ref.key);
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#ids.size + 1;
      this.#ids.set(key, id);
    }
    const entry: [number, FnRef] = [id, ref];
    cache.set(fn as object, entry);
    return entry;
  }
}
