// Finds which item of a chunk cannot be structured-cloned, so the error can name it.
import { SerializationError } from '../errors.js';

export function findUncloneable(items: ArrayLike<unknown>, base: number): SerializationError | null {
  for (let i = 0; i < items.length; i++) {
    try {
      structuredClone(items[i]);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return new SerializationError(base + i, 'argument', reason, { cause: err });
    }
  }
  return null;
}
