// Worker side: turns a FnRef back into a callable, compiling inline source or importing the task's module.

// Task modules are loaded by module-task.ts, imported on the first one: a worker whose tasks are all inline
// never loads it, nor node:module, which alone is a millisecond or more of a thread's start on Node 24.
import type { FnRef } from '../protocol.js';

export type LoadedFn = (...args: unknown[]) => unknown;

// esbuild (tsx) wraps nested functions in __name(fn, "name"); inline source evaluated here needs that helper.
const nameHelper = (target: object, value: string) =>
  Object.defineProperty(target, 'name', { value, configurable: true });

const inlineCache = new Map<string, LoadedFn>();

function compileInline(source: string, name: string): LoadedFn {
  const label = `//# sourceURL=mpool-inline:${name || 'anonymous'}`;
  const attempts = [
    `return (${source}\n);\n${label}`,
    `const o = ({${source}\n}); return o[Object.keys(o)[0]];\n${label}`,
  ];
  let firstError: unknown;
  for (const body of attempts) {
    try {
      const fn = new Function('__name', `'use strict';\n${body}`)(nameHelper);
      if (typeof fn === 'function') return fn as LoadedFn;
    } catch (err) {
      firstError ??= err;
    }
  }
  throw new TypeError(
    `The inline function \`${name || 'anonymous'}\` could not be rebuilt in the worker from its source. ` +
      'Declare it in a module with task(import.meta.url, fn) instead.',
    { cause: firstError },
  );
}

const moduleCache = new Map<string, Promise<LoadedFn>>();

/** The callable for a reference: synchronously when it is cached, else a promise of it. */
export function loadFn(ref: FnRef): LoadedFn | Promise<LoadedFn> {
  if (ref.kind === 'inline') {
    let fn = inlineCache.get(ref.source);
    if (!fn) {
      fn = compileInline(ref.source, ref.name);
      inlineCache.set(ref.source, fn);
    }
    return fn;
  }
  let pending = moduleCache.get(ref.key);
  if (!pending) {
    pending = import('./module-task.js').then(({ loadModuleTask }) => loadModuleTask(ref.url, ref.key));
    moduleCache.set(ref.key, pending);
    pending.catch(() => moduleCache.delete(ref.key));
  }
  return pending;
}

const NOT_DEFINED = /^(\S+) is not defined$/;

/** Explains the usual cause of a ReferenceError in an inline function: a variable captured from outside. */
export function explainInlineError(ref: FnRef, err: unknown): unknown {
  if (ref.kind !== 'inline' || !(err instanceof ReferenceError)) return err;
  const match = NOT_DEFINED.exec(err.message);
  if (!match) return err;
  err.message =
    `${err.message}. Inline functions are sent to the worker as source text, so they cannot use \`${match[1]}\` from the scope around them. ` +
    'Pass it as an argument (or through initializer/initargs), or declare the function in a module with task(import.meta.url, fn).';
  if (err.stack) err.stack = err.stack.replace(/^ReferenceError: .*$/m, `ReferenceError: ${err.message}`);
  return err;
}
