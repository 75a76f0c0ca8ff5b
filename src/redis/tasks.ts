// Tasks by name: the submitter names a module task by its export; a node imports its --tasks modules and looks
// names up there, so by default a node runs nothing but the functions it was started with.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskRefusedError } from '../errors.js';
import type { FnRef } from '../protocol.js';
import { registeredTask } from '../task.js';
import { loadTypeScript, TYPESCRIPT_FILE } from '../worker/typescript.js';

type AnyFn = (...args: unknown[]) => unknown;

function isTaskFunction(value: unknown): value is AnyFn {
  return typeof value === 'function' && !/^class[\s{]/.test(Function.prototype.toString.call(value));
}

/** Imports a module; a TypeScript one as workers do, through tsx when Node cannot load it as it is. */
export function importModule(url: string): Promise<Record<string, unknown>> {
  const load = (target: string) => import(target) as Promise<Record<string, unknown>>;
  return TYPESCRIPT_FILE.test(new URL(url).pathname) ? loadTypeScript(url, load) : load(url);
}

const names = new Map<string, string>();

/** The export name under which a module task's function can be found (the submitter side). */
export async function exportName(ref: FnRef & { kind: 'module' }): Promise<string> {
  const cached = names.get(ref.key);
  if (cached !== undefined) return cached;
  const fn = registeredTask(ref.key);
  const namespace = await importModule(ref.url);
  const name = Object.keys(namespace).find((key) => key !== 'default' && namespace[key] === fn);
  if (name === undefined) {
    throw new TaskRefusedError(
      `The task \`${fn?.name || ref.key}\` is not a named export of ${ref.url}. Worker nodes find tasks by export name: ` +
        'declare it as `export const name = task(import.meta.url, fn)` and start the nodes with --tasks pointing at that module.',
    );
  }
  names.set(ref.key, name);
  return name;
}

/** A node's table of tasks: every exported function of its task modules, by export name. */
export async function loadTaskTable(paths: readonly string[]): Promise<Map<string, AnyFn>> {
  const table = new Map<string, AnyFn>();
  const origin = new Map<string, string>();
  for (const path of paths) {
    const url = /^file:/.test(path) ? path : pathToFileURL(isAbsolute(path) ? path : resolve(path)).href;
    const namespace = await importModule(url);
    for (const [name, value] of Object.entries(namespace)) {
      if (name === 'default' || !isTaskFunction(value)) continue;
      const first = origin.get(name);
      if (first !== undefined && table.get(name) !== value) {
        throw new TypeError(
          `Two task modules export a function named \`${name}\` (${first} and ${path}); tasks are looked up by name, so rename one.`,
        );
      }
      table.set(name, value);
      origin.set(name, path);
    }
  }
  return table;
}
