// How a function travels to a worker: inline source, or module URL + registration key, declared with task().
import { pathToFileURL } from 'node:url';
import { workerData } from 'node:worker_threads';
import { received } from './errors.js';
import type { FnRef } from './protocol.js';

type AnyFn = (...args: any[]) => unknown;

interface Registry {
  byKey: Map<string, AnyFn>;
  byFn: WeakMap<AnyFn, FnRef>;
  counters: Map<string, number>;
}

// One registry per process or thread, even if mpool is loaded twice (ESM + CJS, or src + dist).
const REGISTRY_KEY = Symbol.for('mpool.task-registry');
const slot = globalThis as Record<symbol, Registry | undefined>;
slot[REGISTRY_KEY] ??= { byKey: new Map(), byFn: new WeakMap(), counters: new Map() };
const registry: Registry = slot[REGISTRY_KEY];

/** Marks the second import of a task module under tsx in a worker; the module's tasks keep their plain URL. */
export const RETRY_PARAM = 'mpool-tsx';

function moduleUrl(where: string | URL): string {
  if (where instanceof URL) return withoutRetryMark(where.href);
  if (typeof where !== 'string' || where === '') {
    throw new TypeError(
      `Expected \`moduleUrl\` to be import.meta.url (or __filename in CommonJS), got \`${String(where)}\` (${typeof where})`,
    );
  }
  return /^[a-z][a-z0-9+.-]*:/i.test(where) && !/^[a-z]:[\\/]/i.test(where)
    ? withoutRetryMark(where)
    : pathToFileURL(where).href;
}

function withoutRetryMark(url: string): string {
  if (!url.includes(RETRY_PARAM)) return url;
  const plain = new URL(url);
  plain.searchParams.delete(RETRY_PARAM);
  return plain.href;
}

/**
 * Declares a module-level task: the worker imports `moduleUrl` and finds `fn` by its place among the module's
 * task() calls, the way Python pickles a function by module and name. The function is returned unchanged, so
 * it still works locally. Declare tasks at the top level of a module, so every worker registers them alike.
 *
 * @example
 * export const sqr = task(import.meta.url, (x: number) => x * x);
 * await pool.map(sqr, [1, 2, 3]); // [1, 4, 9]
 */
export function task<F extends AnyFn>(moduleUrlOrFilename: string | URL, fn: F): F {
  if (typeof fn !== 'function') {
    throw new TypeError(`Expected \`fn\` to be a function, got ${received(fn)}`);
  }
  const url = moduleUrl(moduleUrlOrFilename);
  const ordinal = registry.counters.get(url) ?? 0;
  registry.counters.set(url, ordinal + 1);
  const key = `${url}#${ordinal}`;
  registry.byKey.set(key, fn);
  registry.byFn.set(fn, { kind: 'module', url, key });
  return fn;
}

/** The registered function for a key, once its module has been imported in this thread. */
export function registeredTask(key: string): AnyFn | undefined {
  return registry.byKey.get(key);
}

const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;

/** How `fn` will travel: by module reference if declared with task(), otherwise as source text. */
export function toFnRef(fn: unknown, what = 'fn'): FnRef {
  if (typeof fn !== 'function') {
    throw new TypeError(`Expected \`${what}\` to be a function, got ${received(fn)}`);
  }
  const declared = registry.byFn.get(fn as AnyFn);
  if (declared) return declared;
  const source = Function.prototype.toString.call(fn);
  if (NATIVE.test(source)) {
    throw new TypeError(
      `Expected \`${what}\` to be a self-contained function whose source can be sent to a worker, got the native or bound function \`${fn.name || 'anonymous'}\`. ` +
        'Wrap it, e.g. `(x) => Math.sqrt(x)`, or declare it with task(import.meta.url, fn).',
    );
  }
  if (/^class[\s{]/.test(source)) {
    throw new TypeError(`Expected \`${what}\` to be a function, got the class \`${fn.name}\``);
  }
  return { kind: 'inline', source, name: fn.name };
}

/**
 * True inside an mpool worker. A module that both declares tasks and runs a pool at its top level can guard
 * the pool with it, as Python scripts guard with `if __name__ == '__main__'`.
 */
export const isWorker: boolean =
  process.env.MPOOL_WORKER !== undefined ||
  (workerData !== null && typeof workerData === 'object' && 'mpoolWorker' in workerData);
