// Worker-thread transport: the shared loop over parentPort.
import { parentPort } from 'node:worker_threads';
import { startLoop } from './loop.js';

const port = parentPort!;
startLoop({
  post: (message, transfer) => port.postMessage(message, transfer),
  onMessage: (handler) => port.on('message', handler),
  exit: (code) => process.exit(code),
});
