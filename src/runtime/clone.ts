// Finds which item (argument or result) of a chunk cannot be structured-cloned, so the error can name it.
import { TOO_DEEP, tooDeep } from '../depth.js';
import { SerializationError } from '../errors.js';

export function findUncloneable(
  items: ArrayLike<unknown>,
  base: number,
  direction: 'argument' | 'result' = 'argument',
): SerializationError | null {
  for (let i = 0; i < items.length; i++) {
    try {
      structuredClone(items[i]);
    } catch (err) {
      // V8 gives only "Maximum call stack size exceeded" for a value nested deeper than it can write.
      const deep = err instanceof RangeError && tooDeep(items[i]);
      const reason = deep ? TOO_DEEP : err instanceof Error ? err.message : String(err);
      return new SerializationError(base + i, direction, reason, { cause: err });
    }
  }
  return null;
}
