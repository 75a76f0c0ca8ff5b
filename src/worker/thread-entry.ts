// Worker-thread transport: the shared loop over parentPort.
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import { CHANNEL_CLOSED_EXIT_CODE } from '../errors.js';
import type { ToWorker } from '../protocol.js';
import { startLoop } from './loop.js';
import { outputPending } from './stdio.js';

const port = parentPort!;
let leaving = false;
const exit = (code: number): never => {
  leaving = true;
  return process.exit(code);
};
// A task that closes parentPort cuts this thread off: no result or stop can cross any more, and a timer of
// its own would keep it alive for nothing. It leaves, and its exit code tells the pool why.
port.once('close', () => {
  if (!leaving) exit(CHANNEL_CLOSED_EXIT_CODE);
});
startLoop({
  post: (message, transfer) => port.postMessage(message, transfer),
  onMessage: (handler) => port.on('message', handler),
  receive: () => receiveMessageOnPort(port)?.message as ToWorker | undefined,
  exit,
  output: outputPending,
});
