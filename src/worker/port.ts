// What a transport (a thread's parentPort, a child's IPC channel, a test's MessageChannel) gives the loop.
import type { TransferListItem } from 'node:worker_threads';
import type { FromWorker, ToWorker } from '../protocol.js';

/** What a transport gives the loop: a way to post, a way to receive, and a way to end the worker. */
export interface LoopPort {
  post(message: FromWorker, transfer: TransferListItem[]): void;
  onMessage(handler: (message: ToWorker) => void): void;
  /**
   * Takes the next message already waiting, without a turn of the event loop, or returns undefined. Between
   * chunks the loop takes prefetched work this way, which saves a wake-up per chunk. Optional: a transport
   * that cannot do it (a child process's IPC) leaves it out.
   */
  receive?(): ToWorker | undefined;
  exit(code: number): void;
  /**
   * A promise while what the worker's tasks wrote to stdout or stderr has not yet left it, or undefined.
   * Results wait for it, so a task's output is on its way before its result is, and stopping the worker
   * once its results are in loses none of it. Optional: in-process tests leave it out.
   */
  output?(): Promise<void> | undefined;
  /**
   * A promise while messages posted so far are still being written, or undefined. A child's IPC writes are
   * asynchronous and die with it: the loop starts no chunk, which might end the process, before they are out.
   * Optional: a thread's messages survive its exit.
   */
  sent?(): Promise<void> | undefined;
  /**
   * Posts the worker's last message, from inside process.exit(), synchronously. Optional: a transport whose
   * messages survive its exit (a thread's) leaves it out, and `post` is used.
   */
  postLast?(message: FromWorker): void;
}
