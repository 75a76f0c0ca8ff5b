// Runtime on child processes: one forked Node process per slot, speaking the protocol over IPC.
import { type ChildProcess, fork } from 'node:child_process';
import type { Socket } from 'node:net';
import { finished, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CHANNEL_CLOSED_EXIT_CODE, CHANNEL_CLOSED_REASON, type WorkerExit } from '../errors.js';
import type { ExecutorConfig } from '../executor.js';
import type { FromWorker } from '../protocol.js';
import { forward, QUIET_AFTER_EXIT_MS } from './forward.js';
import type { WorkerHandle } from './handle.js';
import { LAST_WORDS_FD, readLastWords } from './last-words.js';
import { leftBehindExit, STOP_GRACE_MS } from './left-behind.js';
import type { WorkerEvents } from './local.js';
import { parseNodeOptions, toArgv, tsxRoot, workerOptions } from './node-flags.js';

const isTs = import.meta.url.endsWith('.ts');
// From dist/, the entry is one bundled CommonJS file (scripts/bundle.mjs): it starts faster.
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

function why(
  code: number | null,
  signal: string | null,
  stderrTail: string,
): Pick<WorkerExit, 'kind' | 'reason'> {
  if (/heap limit|out of memory/i.test(stderrTail))
    return { kind: 'out-of-memory', reason: 'out of memory (maxHeapMb)' };
  if (signal) return { kind: 'signal', reason: `the worker process was killed by ${signal}` };
  if (code === CHANNEL_CLOSED_EXIT_CODE) return { kind: 'channel-closed', reason: CHANNEL_CLOSED_REASON };
  const reason = code === 0 ? 'the worker process exited' : `the worker process exited with code ${code}`;
  return { kind: 'exit', reason };
}

export function spawnProcess(workerId: number, events: WorkerEvents, config: ExecutorConfig): WorkerHandle {
  const child: ChildProcess = fork(entry, [], {
    execArgv: execArgv(config),
    serialization: 'advanced',
    env: { ...process.env, MPOOL_WORKER: String(workerId), ...(parentTsx ? { MPOOL_TSX: parentTsx } : {}) },
    stdio: ['inherit', 'pipe', 'pipe', 'ipc', 'pipe'],
  });
  // Piped rather than inherited: what the child wrote is read to the end before its exit is reported, so join()
  // loses none of it, and a child that ends its own stdout closes only its pipe, not the parent's stream.
  // stderr's tail also tells an out-of-memory death from other crashes.
  let tail = '';
  // Pipes to a child are sockets, which can stop keeping the parent alive.
  const stdout = child.stdout as Socket;
  const stderr = child.stderr as Socket;
  // Paused means the parent's stream is full: the pipe is not quiet, its reader is waiting.
  const stalled = (stream: Readable): boolean =>
    !stream.readableEnded && !stream.destroyed && stream.isPaused();
  let quiet: NodeJS.Timeout | undefined;
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let reported = false;
  const report = (): void => {
    if (reported || !exited) return;
    reported = true;
    clearTimeout(quiet);
    const { code, signal } = exited;
    const exit: WorkerExit = { exitCode: code, signal, ...why(code, signal, tail), stderr: tail };
    events.exit(exit);
  };
  // After the child exited, its pipes normally end as soon as they are read; ones that stay open and quiet
  // are held by a process the task started, and do not hold up its exit any longer.
  const armQuiet = (): void => {
    if (!exited || reported) return;
    clearTimeout(quiet);
    quiet = setTimeout(() => {
      if (stalled(stdout) || stalled(stderr)) return armQuiet();
      stdout.unref();
      stderr.unref();
      lastWords.unref();
      report();
    }, QUIET_AFTER_EXIT_MS);
  };
  const lastWords = child.stdio[LAST_WORDS_FD] as Socket;
  readLastWords(lastWords, events.message);
  // Results written before the exit may still be in the IPC channel: the exit counts once it is read too.
  const disconnected = new Promise<void>((resolve) => {
    if (!child.connected) resolve();
    else child.once('disconnect', resolve);
  });
  const drained = Promise.all([
    forward(stdout, process.stdout, armQuiet),
    forward(stderr, process.stderr, (data) => {
      tail = (tail + data.toString()).slice(-4096);
      armQuiet();
    }),
    new Promise((resolve) => finished(lastWords, resolve)),
    disconnected,
  ]);
  let killTimer: NodeJS.Timeout | undefined;
  child.on('message', (message) => events.message(message as FromWorker));
  child.on('error', () => {
    // Send failures after a death surface as the exit below; nothing else to do here.
  });
  child.on('exit', (code, signal) => {
    clearTimeout(killTimer);
    exited = { code, signal };
    armQuiet();
    // The reason reads stderr's last words, all of which are in once it has ended.
    void drained.then(report);
  });
  const keepAlive = (yes: boolean): void => {
    const channel = child.channel as { ref?: () => void; unref?: () => void } | undefined;
    if (yes) {
      child.ref();
      channel?.ref?.();
      stdout.ref();
      stderr.ref();
      lastWords.ref();
    } else {
      child.unref();
      channel?.unref?.();
      stdout.unref();
      stderr.unref();
      lastWords.unref();
    }
  };
  return {
    send: (message) => {
      if (child.connected) child.send(message);
    },
    kill: () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // Even SIGKILL waits for a process in uninterruptible sleep (state D): past a grace, it counts as gone.
      killTimer = setTimeout(() => {
        child.kill('SIGKILL');
        killTimer = setTimeout(() => {
          if (reported) return;
          reported = true;
          keepAlive(false);
          events.exit(leftBehindExit(`worker process ${child.pid}`, 'SIGKILL'));
        }, STOP_GRACE_MS);
      }, KILL_GRACE_MS);
    },
    keepAlive,
    sharesMemory: false,
    readsAnyDepth: false,
    pid: child.pid,
  };
}
