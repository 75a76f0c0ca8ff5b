// How deep a value nests, checked before it is sent: V8's serializer writes values that its own reader, in
// the receiving thread or process, cannot read back (the reader recurses with a smaller budget and throws
// RangeError there, where no call can be told). Shared by the pool and worker sides; imports nothing.

/** The deepest nesting of objects and arrays that may be sent; the reader fails somewhere past 1,500. */
export const MAX_DEPTH = 1000;
// A first walk without bookkeeping gives up after this many objects (shared or cyclic references could
// make it go on for long); an exact walk that visits each object once then decides.
const QUICK_WALK_OBJECTS = 10_000;

type Visit = (value: object, depth: number) => boolean;

function children(value: object, depth: number, visit: Visit): boolean {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null && visit(item, depth + 1)) return true;
    }
    return false;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date) return false;
  if (value instanceof RegExp || value instanceof Error) return false;
  const items: Iterable<unknown> =
    value instanceof Map
      ? [...value.keys(), ...value.values()]
      : value instanceof Set
        ? value
        : Object.values(value);
  for (const item of items) {
    if (typeof item === 'object' && item !== null && visit(item, depth + 1)) return true;
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
    let seen = 0;
    let unsure = false;
    const quick: Visit = (v, depth) => {
      if (depth > MAX_DEPTH || ++seen > QUICK_WALK_OBJECTS) {
        unsure = true;
        return true;
      }
      return children(v, depth, quick);
    };
    quick(value, 1);
    if (!unsure) return false;
    const visited = new Set<object>();
    const exact: Visit = (v, depth) => {
      if (visited.has(v)) return false;
      visited.add(v);
      return depth > MAX_DEPTH || children(v, depth, exact);
    };
    return exact(value, 1);
  } catch {
    return false;
  }
}

/** The position of the first of `values` that nests too deep, or -1. */
export function findTooDeep(values: ArrayLike<unknown>): number {
  if (ArrayBuffer.isView(values)) return -1;
  for (let i = 0; i < values.length; i++) if (tooDeep(values[i])) return i;
  return -1;
}

export const TOO_DEEP = `it nests objects more than ${MAX_DEPTH} levels deep, more than the receiving side can read back`;
