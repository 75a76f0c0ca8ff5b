// Worker-thread transport: the shared loop over parentPort.
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import type { ToWorker } from '../protocol.js';
import { startLoop } from './loop.js';
import { outputPending } from './stdio.js';

const port = parentPort!;
startLoop({
  post: (message, transfer) => port.postMessage(message, transfer),
  onMessage: (handler) => port.on('message', handler),
  receive: () => receiveMessageOnPort(port)?.message as ToWorker | undefined,
  exit: (code) => process.exit(code),
  output: outputPending,
});
