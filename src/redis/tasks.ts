// Tasks by name: the submitter names a module task by its export; a node imports its --tasks modules and looks
// names up there, so by default a node runs nothing but the functions it was started with.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

const versions = new Map<string, Promise<string>>();

/**
 * A task module's version: the SHA-256 of its file, so that a submitter and a node running different code
 * under one name find out. Only the module's own text: a change in a file it imports goes unseen.
 */
export function moduleVersion(url: string): Promise<string> {
  let version = versions.get(url);
  if (!version) {
    version = readFile(fileURLToPath(url)).then((text) => createHash('sha256').update(text).digest('hex'));
    versions.set(url, version);
    version.catch(() => versions.delete(url));
  }
  return version;
}

/** How a version is shown in messages and logs: enough of the hash to tell two apart. */
export const shortVersion = (version: string): string => version.slice(0, 12);

const names = new Map<string, { name: string; version?: string }>();

/** The export name under which a module task's function can be found, and its module's version (the submitter side). */
export async function exportName(
  ref: FnRef & { kind: 'module' },
): Promise<{ name: string; version?: string }> {
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
  // A module that is no file on disk (bundled, say) has no version to send; nodes then take it on its name alone.
  const version = await moduleVersion(ref.url).catch(() => undefined);
  const found = version === undefined ? { name } : { name, version };
  names.set(ref.key, found);
  return found;
}

/** A task as a node knows it: the function, and the path and version of the module it came from. */
export interface NodeTask {
  fn: AnyFn;
  path: string;
  version: string;
}

/** A node's table of tasks: every exported function of its task modules, by export name. */
export async function loadTaskTable(paths: readonly string[]): Promise<Map<string, NodeTask>> {
  const table = new Map<string, NodeTask>();
  for (const path of paths) {
    const url = /^file:/.test(path) ? path : pathToFileURL(isAbsolute(path) ? path : resolve(path)).href;
    const namespace = await importModule(url);
    const version = await moduleVersion(url);
    for (const [name, value] of Object.entries(namespace)) {
      if (name === 'default' || !isTaskFunction(value)) continue;
      const first = table.get(name);
      if (first !== undefined && first.fn !== value) {
        throw new TypeError(
          `Two task modules export a function named \`${name}\` (${first.path} and ${path}); tasks are looked up by name, so rename one.`,
        );
      }
      table.set(name, { fn: value, path, version });
    }
  }
  return table;
}
