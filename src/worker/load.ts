// Worker side: turns a FnRef back into a callable, compiling inline source or importing the task's module.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FnRef } from '../protocol.js';
import { registeredTask } from '../task.js';
import { loadTypeScript, TYPESCRIPT_FILE } from './typescript.js';

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

// Once per module and worker: a TypeScript module may have loaded at another URL than its plain one.
const imported = new Map<string, Promise<void>>();

function importTaskModule(url: string): Promise<void> {
  let pending = imported.get(url);
  if (!pending) {
    // require, not import(), for CommonJS: on Node 20 a CommonJS module loaded through import() cannot require('mpool').
    const load = isCommonJs(url)
      ? (target: string) => requireHere(fileURLToPath(target))
      : (target: string) => import(target);
    pending = TYPESCRIPT_FILE.test(new URL(url).pathname)
      ? loadTypeScript(url, load)
      : Promise.resolve(load(url)).then(() => {});
    imported.set(url, pending);
    pending.catch(() => imported.delete(url));
  }
  return pending;
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
