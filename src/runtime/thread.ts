// Runtime on worker_threads: one Worker per slot, speaking the protocol over its message port.
import { finished, type Readable } from 'node:stream';
import { isMainThread, Worker, type WorkerOptions } from 'node:worker_threads';
import { CHANNEL_CLOSED_EXIT_CODE, CHANNEL_CLOSED_REASON, type WorkerExit } from '../errors.js';
import type { ExecutorConfig } from '../executor.js';
import type { FromWorker } from '../protocol.js';
import type { WorkerHandle } from './handle.js';
import { leftBehindExit, STOP_GRACE_MS } from './left-behind.js';
import type { WorkerEvents } from './local.js';
import { optionName, parseNodeOptions, toArgv, tsxRoot, workerOptions } from './node-flags.js';

// From dist/, the entry is one bundled CommonJS file (scripts/bundle.mjs): it starts faster.
const entry = new URL(
  `../worker/thread-entry${import.meta.url.endsWith('.ts') ? '.ts' : '.cjs'}`,
  import.meta.url,
);

// Under tsx our own sources are .ts, and Node 20 does not pass tsx's hooks on to worker threads:
// start the worker from a tiny script that registers tsx first.
function workerSource(): { file: string | URL; eval: boolean } {
  if (!entry.pathname.endsWith('.ts')) return { file: entry, eval: false };
  const esm = import.meta.resolve('tsx/esm/api');
  const cjs = import.meta.resolve('tsx/cjs/api');
  const code = `Promise.all([import(${JSON.stringify(esm)}), import(${JSON.stringify(cjs)})])
    .then(([e, c]) => { e.register(); c.register(); globalThis[Symbol.for('mpool.tsx-registered')] = true; return import(${JSON.stringify(entry.href)}); })
    .catch((err) => { console.error(err); process.exit(70); });`;
  return { file: code, eval: true };
}

function why(code: number, error: Error | undefined): Pick<WorkerExit, 'kind' | 'reason'> {
  if (error) {
    if ((error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY')
      return { kind: 'out-of-memory', reason: 'out of memory (maxHeapMb)' };
    return { kind: 'crash', reason: `${error.name}: ${error.message}` };
  }
  if (code === CHANNEL_CLOSED_EXIT_CODE) return { kind: 'channel-closed', reason: CHANNEL_CLOSED_REASON };
  return { kind: 'exit', reason: code === 0 ? 'the worker exited' : `the worker exited with code ${code}` };
}

// A thread inherits the parent's options unless given its own list; it gets one only when something is
// dropped (tsx, whose hooks a thread registers itself only if a task module needs them: most load without).
// Node refuses process-wide options in that list and names them; those are left out too.
let threadArgv: string[] | undefined | null = null;
const parentTsx = tsxRoot(parseNodeOptions(process.execArgv));

function startWorker(file: string | URL, options: WorkerOptions): Worker {
  if (threadArgv === null) {
    const kept = workerOptions(process.execArgv);
    threadArgv = kept.length === parseNodeOptions(process.execArgv).length ? undefined : toArgv(kept);
  }
  try {
    return new Worker(file, { ...options, execArgv: threadArgv });
  } catch (err) {
    const refused = /invalid execArgv flags: (.*)$/.exec((err as Error).message);
    if ((err as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || !refused) throw err;
    const names = new Set(refused[1]!.split(', ').map((flag) => optionName([flag])));
    threadArgv = toArgv(workerOptions(process.execArgv).filter((option) => !names.has(optionName(option))));
    return new Worker(file, { ...options, execArgv: threadArgv });
  }
}

function ended(stream: Readable): Promise<void> {
  return new Promise((resolve) => finished(stream, () => resolve()));
}

// The stack a worker thread reads messages with (Node's default, set so that it stays what readsAnyDepth
// counts on), and whether this thread writes with no more than V8's default stack of about 1 MB.
const WORKER_STACK_MB = 4;
const readsAnyDepth = isMainThread && !process.execArgv.some((arg) => arg.startsWith('--stack-size'));

export function spawnThread(workerId: number, events: WorkerEvents, config: ExecutorConfig): WorkerHandle {
  const source = workerSource();
  const worker = startWorker(source.file, {
    eval: source.eval,
    workerData: { mpoolWorker: workerId, mpoolTsx: parentTsx },
    resourceLimits: {
      stackSizeMb: WORKER_STACK_MB,
      ...(config.maxHeapMb ? { maxOldGenerationSizeMb: config.maxHeapMb } : {}),
    },
  });
  let error: Error | undefined;
  /** Set once the thread was told to end and did not: from then on, the pool has forgotten it. */
  let leftBehind = false;
  let grace: NodeJS.Timeout | undefined;
  worker.on('message', (message: FromWorker) => {
    if (!leftBehind) events.message(message);
  });
  worker.on('error', (err) => {
    error = err;
  });
  // A thread's stdout and stderr reach the parent's streams asynchronously, through messages: its exit counts
  // once they have ended, with everything it wrote passed on, so join() and terminate() lose none of it.
  const drained = Promise.all([ended(worker.stdout), ended(worker.stderr)]);
  worker.on('exit', (code) => {
    clearTimeout(grace);
    if (leftBehind) return;
    const exit: WorkerExit = { exitCode: code, signal: null, ...why(code, error) };
    void drained.then(() => events.exit(exit));
  });
  // terminate() cannot interrupt a system call: a thread blocked in one stays until it returns. Past a short
  // grace it counts as gone, so its work settles, a replacement starts and terminate() returns; unref'd, it
  // no longer keeps the process alive by itself (Node still waits for it at exit).
  const kill = (): void => {
    void worker.terminate();
    grace ??= setTimeout(() => {
      leftBehind = true;
      worker.unref();
      events.exit(leftBehindExit(`worker thread ${worker.threadId}`, 'terminate()'));
    }, STOP_GRACE_MS);
  };
  return {
    send: (message, transfer) => worker.postMessage(message, transfer),
    kill,
    keepAlive: (yes) => (yes ? worker.ref() : worker.unref()),
    sharesMemory: true,
    readsAnyDepth,
    threadId: worker.threadId,
  };
}
