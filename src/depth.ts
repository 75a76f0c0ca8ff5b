// How deep a value nests, checked before it is sent: V8's serializer writes values that its own reader, in
// the receiving thread or process, cannot read back (the reader recurses with a smaller budget and throws
// RangeError there, where no call can be told). Shared by the pool and worker sides; imports nothing.
//
// The check runs on every argument and result, on the pool's own thread too, so its common case is tight:
// arrays and plain objects are walked in place (no closures, no arrays of values), and only other objects
// (Map, Set, typed arrays, class instances) pay for finding out what they are.

/** The deepest nesting of objects and arrays that may be sent; the reader fails somewhere past 1,500. */
export const MAX_DEPTH = 1000;
// A first walk without bookkeeping gives up after this many objects (shared or cyclic references could
// make it go on for long); an exact walk that visits each object once then decides.
const QUICK_WALK_OBJECTS = 10_000;

const PLAIN = Object.prototype;
// The quick walk's remaining objects, and the exact walk's visited set (undefined during the quick walk).
let budget = 0;
let visited: Set<object> | undefined;

/** Whether some path below `value` (at `depth`) goes past MAX_DEPTH; in the quick walk, also when out of budget. */
function deeper(value: object, depth: number): boolean {
  if (depth > MAX_DEPTH) return true;
  if (visited === undefined) {
    if (--budget < 0) return true;
  } else {
    if (visited.has(value)) return false;
    visited.add(value);
  }
  const next = depth + 1;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null && deeper(item, next)) return true;
    }
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === PLAIN || proto === null) {
    // Own enumerable properties are what structured clone sends; Object.prototype has none of its own.
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const item = record[key];
      if (typeof item === 'object' && item !== null && deeper(item, next)) return true;
    }
    return false;
  }
  return deeperOther(value, next);
}

function deeperOther(value: object, next: number): boolean {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date) return false;
  if (value instanceof RegExp || value instanceof Error) return false;
  const items: Iterable<unknown> =
    value instanceof Map
      ? [...value.keys(), ...value.values()]
      : value instanceof Set
        ? value
        : Object.values(value);
  for (const item of items) {
    if (typeof item === 'object' && item !== null && deeper(item, next)) return true;
  }
  return false;
}

/**
 * Whether `value` nests objects or arrays more than MAX_DEPTH levels deep. Primitives cost nothing. A value
 * that cannot even be walked (a Proxy that throws, say) counts as not too deep: sending it tells what is wrong.
 */
export function tooDeep(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  try {
    budget = QUICK_WALK_OBJECTS;
    visited = undefined;
    if (!deeper(value, 1)) return false;
    // Too deep, or too many objects to be sure without bookkeeping: decide exactly.
    visited = new Set();
    return deeper(value, 1);
  } catch {
    return false;
  } finally {
    visited = undefined;
  }
}

/** The position of the first of `values` that nests too deep, or -1. */
export function findTooDeep(values: ArrayLike<unknown>): number {
  if (ArrayBuffer.isView(values)) return -1;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'object' && value !== null && tooDeep(value)) return i;
  }
  return -1;
}

export const TOO_DEEP = `it nests objects more than ${MAX_DEPTH} levels deep, more than the receiving side can read back`;
