// Child-process transport: the shared loop over the IPC channel; the child leaves when its parent does.
import { writeSync } from 'node:fs';
import { serialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { CHANNEL_CLOSED_EXIT_CODE } from '../errors.js';
import type { FromWorker, ToWorker } from '../protocol.js';
import { startLoop } from './loop.js';
import { outputPending } from './stdio.js';

// 'disconnect' needs this thread's event loop, which a task spinning in synchronous code never lets turn. A
// small thread of its own watches for the parent's death (this process is then handed to another parent)
// and kills the process outright. Unref'd: it never keeps the process alive.
const WATCH_EVERY_MS = 100;
const watchdog = new Worker(
  `const { workerData } = require('node:worker_threads');
  setInterval(() => {
    if (process.ppid !== workerData.ppid) process.kill(process.pid, 'SIGKILL');
  }, ${WATCH_EVERY_MS});`,
  {
    eval: true,
    workerData: { ppid: process.ppid },
    // Plain JavaScript: no loader (tsx) or heap flag of the task's process is needed here.
    execArgv: [],
  },
);
watchdog.unref();
// Should the watchdog itself fail, the worker goes on without it rather than die of it.
watchdog.on('error', () => {});

// The pool never disconnects: it is gone, or a task called process.disconnect(). Either way nothing more can
// be said to it; the exit code tells the pool (if it is still there) why this worker left.
process.on('disconnect', () => process.exit(CHANNEL_CLOSED_EXIT_CODE));

// Messages still being written to the IPC channel, and who waits for them to be out.
let writing = 0;
let waiting: Array<() => void> = [];
const written = (): void => {
  if (--writing > 0) return;
  const resolve = waiting;
  waiting = [];
  for (const done of resolve) done();
};

startLoop({
  post: (message) => {
    // A message that cannot be serialized throws here, before anything is written: it is not counted.
    process.send!(message, undefined, undefined, written);
    writing++;
  },
  sent: () => (writing === 0 ? undefined : new Promise((resolve) => waiting.push(resolve))),
  onMessage: (handler) => process.on('message', (message) => handler(message as ToWorker)),
  exit: (code) => process.exit(code),
  postLast,
  output: outputPending,
});

/** The pool's end of this pipe (see LAST_WORDS_FD in runtime/process.ts): blocking, so a write finishes before exit. */
const LAST_WORDS_FD = 4;

// IPC writes are asynchronous and die with the process, so the message that says which task ended the worker,
// and carries the results it still held, goes through a pipe of its own, written synchronously.
function postLast(message: FromWorker): void {
  const body = serialize(message);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  try {
    for (let at = 0; at < frame.length; ) at += writeSync(LAST_WORDS_FD, frame, at);
  } catch {
    // The pool is gone: nobody is left to tell.
  }
}
