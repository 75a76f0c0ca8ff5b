// What a runtime (a thread, a child process) gives the local executor for each worker it starts.
import type { TransferListItem } from 'node:worker_threads';
import type { ToWorker } from '../protocol.js';

/** One worker as a runtime gives it to the local executor: thread or process, the executor cannot tell. */
export interface WorkerHandle {
  send(message: ToWorker, transfer: TransferListItem[]): void;
  /** Stops the worker at once (a process gets SIGTERM, then SIGKILL). */
  kill(): void;
  /** Whether the worker keeps the Node process alive. */
  keepAlive(yes: boolean): void;
  /** Whether the worker is a thread of this process: then shared memory reaches it without a copy. */
  readonly sharesMemory: boolean;
  /**
   * Whether the worker reads back every value this thread can send. V8's reader needs about twice the stack
   * its writer does: a thread, with its 4 MB stack, reads whatever the main thread (about 1 MB) writes; a
   * process's main thread does not, nor does a thread fed from another worker thread or from a main thread
   * whose stack was raised. Where it does not, arguments are checked for depth before they go.
   */
  readonly readsAnyDepth: boolean;
  /** A child process's pid (undefined for a thread). */
  readonly pid?: number | undefined;
  /** A worker thread's threadId (undefined for a process). */
  readonly threadId?: number | undefined;
}
