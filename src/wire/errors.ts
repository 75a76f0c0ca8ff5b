// How errors cross the wire between a worker and the pool: as data that keeps class, fields, cause and stack.
import { TOO_DEEP, tooDeep } from '../depth.js';
import {
  AbortError,
  SerializationError,
  TaskTimeoutError,
  TimeoutError,
  WorkerLostError,
} from '../errors.js';

/** An error as it crosses the wire: data only, never code. */
export type WireError =
  | {
      kind: 'error';
      ctor: string;
      name: string;
      message: string;
      stack: string | undefined;
      props: Record<string, unknown>;
      cause?: WireError;
      errors?: WireError[];
    }
  | { kind: 'value'; value: unknown };

const BUILTINS: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

const OWN: Record<string, { prototype: Error }> = {
  SerializationError,
  WorkerLostError,
  TaskTimeoutError,
  AbortError,
  TimeoutError,
};

const OWN_SKIP = new Set(['name', 'message', 'stack', 'cause', 'errors']);

// What a task throws may be hostile: a getter that throws, a Proxy whose every trap throws. Each read is
// guarded, so the error is described as far as it can be read and never takes the worker down instead.
function attempt<T>(read: () => T, fallback: (err: unknown) => T): T {
  try {
    return read();
  } catch (err) {
    return fallback(err);
  }
}

function textOf(value: unknown): string {
  return attempt(
    () => (value instanceof Error ? `${value.name}: ${value.message}` : String(value)),
    () => 'something unreadable',
  );
}

const unreadable = (what: string) => (err: unknown) => `[${what} could not be read: ${textOf(err)}]`;

function cloneable(value: unknown): unknown {
  if (tooDeep(value)) return `[a value that ${TOO_DEEP}]`;
  try {
    return structuredClone(value);
  } catch {
    return `[uncloneable ${attempt(
      () => Object.prototype.toString.call(value),
      () => 'value',
    )}]`;
  }
}

/** Turns anything thrown in a worker into data that keeps its class name, fields, cause and stack. */
export function serializeError(err: unknown, depth = 0): WireError {
  // A Proxy whose getPrototypeOf throws is no plain value: describe it as an error, as far as it can be read.
  if (
    !attempt(
      () => err instanceof Error,
      () => true,
    )
  ) {
    return { kind: 'value', value: cloneable(err) };
  }
  const error = err as Error & Record<string, unknown>;
  const ctor = attempt(
    () => {
      const name: unknown = error.constructor?.name;
      return typeof name === 'string' && name !== '' ? name : 'Error';
    },
    () => 'Error',
  );
  const props: Record<string, unknown> = {};
  for (const key of attempt(
    () => Object.keys(error),
    () => [],
  )) {
    if (!OWN_SKIP.has(key)) props[key] = attempt(() => cloneable(error[key]), unreadable(`\`${key}\``));
  }
  const name = attempt(
    () => (typeof error.name === 'string' ? error.name : ctor),
    () => ctor,
  );
  const wire: WireError = {
    kind: 'error',
    ctor,
    name: name === 'Error' && ctor !== 'Error' ? ctor : name,
    message: attempt(() => String(error.message), unreadable("the error's message")),
    stack: attempt(
      () => (typeof error.stack === 'string' ? error.stack : undefined),
      () => undefined,
    ),
    props,
  };
  const cause = attempt(
    () => error.cause,
    () => undefined,
  );
  if (cause !== undefined && depth < 8) wire.cause = serializeError(cause, depth + 1);
  const errors = attempt(
    () => (err instanceof AggregateError ? Array.from(err.errors as unknown[]) : undefined),
    () => undefined,
  );
  if (errors && depth < 8) wire.errors = errors.map((e) => serializeError(e, depth + 1));
  return wire;
}

/**
 * Rebuilds a worker's error in the pool. Built-in classes come back as themselves; other classes come back as
 * `Error` with their original `name`. Fields, `code`, `cause` and the worker-side stack are kept.
 */
export function deserializeError(wire: WireError): unknown {
  if (wire.kind === 'value') return wire.value;
  let err: Error;
  if (wire.ctor === 'AggregateError' || wire.errors) {
    err = new AggregateError((wire.errors ?? []).map(deserializeError), wire.message);
  } else if (BUILTINS[wire.ctor]) {
    err = new BUILTINS[wire.ctor]!(wire.message);
  } else if (OWN[wire.ctor]) {
    // mpool's own errors raised in a worker (e.g. a result that cannot be cloned) keep their class too.
    err = Object.create(OWN[wire.ctor]!.prototype) as Error;
    Object.defineProperty(err, 'message', { value: wire.message, writable: true, configurable: true });
  } else {
    err = new Error(wire.message);
  }
  if (err.name !== wire.name) {
    Object.defineProperty(err, 'name', {
      value: wire.name,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  Object.assign(err, wire.props);
  if (wire.cause) {
    Object.defineProperty(err, 'cause', {
      value: deserializeError(wire.cause),
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  Object.defineProperty(err, 'stack', {
    value: wire.stack ?? `${wire.name}: ${wire.message}`,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  return err;
}
