// Worker side: loads a TypeScript task module the way this thread or process can. First as it is (Node strips
// erasable types itself from 22.18 and 24, or a loader the user passed is active here); if that cannot load
// it, through tsx, which is registered in this worker only then, so a pool whose modules need no tsx never
// pays for it.
import { readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { workerData } from 'node:worker_threads';
import { RETRY_PARAM } from '../task.js';

export const TYPESCRIPT_FILE = /\.[cm]?tsx?$/;

// Errors that end a load before the module's code runs: the file's kind, its syntax, resolving its imports.
const LOAD_ERRORS = new Set([
  'ERR_UNKNOWN_FILE_EXTENSION',
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
  'ERR_INVALID_TYPESCRIPT_SYNTAX',
  'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING',
  'ERR_MODULE_NOT_FOUND',
  'MODULE_NOT_FOUND',
  'ERR_UNSUPPORTED_DIR_IMPORT',
]);

function isLoadError(err: unknown): boolean {
  return err instanceof SyntaxError || LOAD_ERRORS.has((err as { code?: string } | null)?.code ?? '');
}

// Shared with the bootstrap that starts threads from mpool's own sources, which registers tsx first.
const TSX_KEY = Symbol.for('mpool.tsx-registered');
const flags = globalThis as Record<symbol, boolean | undefined>;

interface Registrable {
  register: () => unknown;
}

// The folders where tsx may be: the one the parent runs under, then the task module's own project.
function tsxFolders(moduleUrl: string): string[] {
  const folders: string[] = [];
  const fromParent = process.env.MPOOL_TSX ?? (workerData as { mpoolTsx?: string } | null)?.mpoolTsx;
  if (fromParent) folders.push(fromParent);
  try {
    folders.push(dirname(createRequire(fileURLToPath(moduleUrl)).resolve('tsx/package.json')));
  } catch {
    // not installed beside the module
  }
  return folders;
}

// The ESM build of one of tsx's entry points (its CommonJS build cannot register hooks on Node 20).
async function importFrom(folder: string, subpath: string): Promise<Registrable> {
  const pkg = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return (await import(
    pathToFileURL(join(folder, pkg.exports[subpath]!.import.default)).href
  )) as Registrable;
}

async function tsxApis(moduleUrl: string): Promise<[Registrable, Registrable] | null> {
  try {
    return [(await import('tsx/esm/api')) as Registrable, (await import('tsx/cjs/api')) as Registrable];
  } catch {
    // not installed beside mpool: look where the parent's tsx and the module's project are
  }
  for (const folder of tsxFolders(moduleUrl)) {
    try {
      return [await importFrom(folder, './esm/api'), await importFrom(folder, './cjs/api')];
    } catch {
      // try the next place
    }
  }
  return null;
}

async function registerTsx(moduleUrl: string): Promise<boolean> {
  const apis = await tsxApis(moduleUrl);
  if (!apis) return false;
  for (const api of apis) api.register();
  flags[TSX_KEY] = true;
  return true;
}

function cannotLoad(url: string, err: unknown): Error {
  const what = (err as Error).message?.split('\n')[0] ?? String(err);
  // A capability, not a version: `process.features.typescript` is set where Node strips types.
  const strips = Boolean((process.features as { typescript?: unknown }).typescript);
  const node = strips
    ? `Node ${process.version} strips only erasable types by itself (no enum, namespace or parameter properties, no JSX) and resolves imports by their real file names`
    : `Node ${process.version} cannot run TypeScript by itself`;
  return new TypeError(
    `Cannot load the TypeScript task module ${fileURLToPath(url)} in a worker (${what}). ${node}, and tsx was not found. ` +
      'Install tsx in your project (`npm install --save-dev tsx`): mpool then registers it in the workers that need it. ' +
      'Or compile the module to JavaScript and pass the compiled file.',
    { cause: err },
  );
}

// Node's compile cache (22.1+) keeps the output of its own type stripping on disk. Stripping is slow to begin
// (about 90 ms a thread on Node 24, to set up its compiler): with the cache, only the first worker to load a
// module since it changed pays that, and the others (in this run, or the next) read the stripped code. It is
// Node's documented quiet optimisation: NODE_COMPILE_CACHE picks the folder, NODE_DISABLE_COMPILE_CACHE=1
// turns it off, and it only touches this worker, a thread or process that mpool owns.
interface CompileCache {
  enableCompileCache?: () => unknown;
  flushCompileCache?: () => void;
}
const compileCache = nodeModule as CompileCache;
let cacheEnabled = false;

function enableCompileCache(): void {
  if (cacheEnabled || !(process.features as { typescript?: unknown }).typescript) return;
  cacheEnabled = true;
  compileCache.enableCompileCache?.();
}

/**
 * Loads a TypeScript module with `load`. When it cannot be loaded as it is, registers tsx here and loads it
 * again at a marked URL: Node may keep the failed first attempt under the plain one (Node 20 and 22 do).
 */
export async function loadTypeScript<T>(url: string, load: (url: string) => T | Promise<T>): Promise<T> {
  enableCompileCache();
  try {
    const loaded = await load(url);
    // Written now, not at exit, so the workers starting beside this one already find it.
    compileCache.flushCompileCache?.();
    return loaded;
  } catch (err) {
    if (flags[TSX_KEY] || !isLoadError(err)) throw err;
    if (!(await registerTsx(url))) throw cannotLoad(url, err);
  }
  const marked = new URL(url);
  marked.searchParams.set(RETRY_PARAM, '');
  return load(marked.href);
}
