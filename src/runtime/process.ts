// Runtime on child processes: one forked Node process per slot, speaking the protocol over IPC.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerExit } from '../errors.js';
import type { ExecutorConfig } from '../executor.js';
import type { FromWorker } from '../protocol.js';
import type { WorkerEvents } from './local.js';
import { parseNodeOptions, toArgv, tsxRoot, workerOptions } from './node-flags.js';
import type { WorkerHandle } from './slot.js';

const isTs = import.meta.url.endsWith('.ts');
// From dist/, the entry is one bundled CommonJS file (scripts/bundle-workers.mjs): it starts faster.
const entry = fileURLToPath(new URL(`../worker/process-entry${isTs ? '.ts' : '.cjs'}`, import.meta.url));

/** How long a process has after SIGTERM before SIGKILL. */
export const KILL_GRACE_MS = 2000;

function execArgv(config: ExecutorConfig): string[] {
  const args = toArgv(workerOptions(process.execArgv));
  // Run from src/ (mpool's own tests), the entry itself is TypeScript.
  if (isTs) args.push('--import', import.meta.resolve('tsx'));
  if (config.maxHeapMb) args.push(`--max-old-space-size=${config.maxHeapMb}`);
  return args;
}

// The tsx that the parent runs under, for a child that needs it for a task module.
const parentTsx = tsxRoot(parseNodeOptions(process.execArgv));

function why(code: number | null, signal: string | null, stderrTail: string): string {
  if (/heap limit|out of memory/i.test(stderrTail)) return 'out of memory (maxHeapMb)';
  if (signal) return `the worker process was killed by ${signal}`;
  return code === 0 ? 'the worker process exited' : `the worker process exited with code ${code}`;
}

export function spawnProcess(workerId: number, events: WorkerEvents, config: ExecutorConfig): WorkerHandle {
  const child: ChildProcess = fork(entry, [], {
    execArgv: execArgv(config),
    serialization: 'advanced',
    env: { ...process.env, MPOOL_WORKER: String(workerId), ...(parentTsx ? { MPOOL_TSX: parentTsx } : {}) },
    stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
  });
  // stderr passes through, and its tail tells an out-of-memory death from other crashes.
  let tail = '';
  child.stderr!.on('data', (data: Buffer) => {
    process.stderr.write(data);
    tail = (tail + data.toString()).slice(-4096);
  });
  let killTimer: NodeJS.Timeout | undefined;
  child.on('message', (message) => events.message(message as FromWorker));
  child.on('error', () => {
    // Send failures after a death surface as the exit below; nothing else to do here.
  });
  child.on('exit', (code, signal) => {
    clearTimeout(killTimer);
    // Let stderr drain so the reason can see the last words.
    setImmediate(() => {
      const exit: WorkerExit = { exitCode: code, signal, reason: why(code, signal, tail) };
      events.exit(exit);
    });
  });
  const keepAlive = (yes: boolean): void => {
    const channel = child.channel as { ref?: () => void; unref?: () => void } | undefined;
    const stderr = child.stderr as unknown as { ref?: () => void; unref?: () => void };
    if (yes) {
      child.ref();
      channel?.ref?.();
      stderr.ref?.();
    } else {
      child.unref();
      channel?.unref?.();
      stderr.unref?.();
    }
  };
  return {
    send: (message) => {
      if (child.connected) child.send(message);
    },
    kill: () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    },
    keepAlive,
    sharesMemory: false,
  };
}
