// Worker side: imports a task's module (CommonJS, ESM or TypeScript) and finds the task it registered.
// Loaded by load.ts on a worker's first module task only.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registeredTask } from '../task.js';
import { loadTypeScript, TYPESCRIPT_FILE } from './typescript.js';

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

/** The task `key` of the module at `url`, importing the module once per worker. */
export async function loadModuleTask(
  url: string,
  key: string,
): Promise<NonNullable<ReturnType<typeof registeredTask>>> {
  await importTaskModule(url);
  const fn = registeredTask(key);
  if (!fn) {
    throw new TypeError(
      `The task \`${key}\` was not registered when the worker imported ${url}. ` +
        'Declare tasks with task(import.meta.url, fn) at the top level of the module, so every import registers them in the same order.',
    );
  }
  return fn;
}
