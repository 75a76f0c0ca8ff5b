// Worker side: turns a FnRef back into a callable, compiling inline source or importing the task's module.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FnRef } from '../protocol.js';
import { registeredTask } from '../task.js';

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

// Set by whoever registers tsx in this thread (our thread bootstrap, or this module).
const TSX_KEY = Symbol.for('mpool.tsx-registered');
const flags = globalThis as Record<symbol, boolean | undefined>;

/** Whether .ts modules already load here: tsx registered in this thread, or preloaded by the process. */
function typeScriptReady(): boolean {
  return (
    flags[TSX_KEY] === true || /tsx/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`)
  );
}

async function registerTypeScript(): Promise<void> {
  if (flags[TSX_KEY]) return;
  flags[TSX_KEY] = true;
  const esm = (await import('tsx/esm/api')) as { register: () => unknown };
  esm.register();
  const cjs = (await import('tsx/cjs/api')) as { register: () => unknown };
  cjs.register();
}

const requireHere = createRequire(import.meta.url);

// Node's own rule: .cjs/.cts are CommonJS, .mjs/.mts are ESM, anything else follows the nearest package.json.
function isCommonJs(url: string): boolean {
  if (!url.startsWith('file:')) return false;
  const path = fileURLToPath(url);
  const ext = extname(path);
  if (ext === '.cjs' || ext === '.cts') return true;
  if (ext === '.mjs' || ext === '.mts') return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: string };
      return pkg.type !== 'module';
    } catch {
      if (dirname(dir) === dir) return true;
    }
  }
}

async function importTaskModule(url: string): Promise<void> {
  if (isCommonJs(url)) {
    // require, not import(): on Node 20 a CommonJS module loaded through import() cannot require('mpool').
    if (/\.c?tsx?$/.test(url) && !typeScriptReady()) await registerTypeScript();
    requireHere(fileURLToPath(url));
    return;
  }
  // Register tsx before the first import: Node caches a failed import() of a URL, so it cannot be retried.
  // (Node 20 does not hand tsx's hooks to worker threads, so a thread must register them itself.)
  if (/\.[mc]?tsx?$/.test(new URL(url).pathname) && !typeScriptReady()) await registerTypeScript();
  await import(url);
}

const moduleCache = new Map<string, Promise<LoadedFn>>();

async function loadModuleTask(url: string, key: string): Promise<LoadedFn> {
  await importTaskModule(url);
  const fn = registeredTask(key);
  if (!fn) {
    throw new TypeError(
      `The task \`${key}\` was not registered when the worker imported ${url}. ` +
        'Declare tasks with task(import.meta.url, fn) at the top level of the module, so every import registers them in the same order.',
    );
  }
  return fn as LoadedFn;
}

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
    pending = loadModuleTask(ref.url, ref.key);
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
