// Child-process transport: the shared loop over the IPC channel; the child leaves when its parent does.
import { Worker } from 'node:worker_threads';
import type { ToWorker } from '../protocol.js';
import { startLoop } from './loop.js';

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

process.on('disconnect', () => process.exit(0));
startLoop({
  post: (message) => process.send!(message),
  onMessage: (handler) => process.on('message', (message) => handler(message as ToWorker)),
  exit: (code) => process.exit(code),
});
