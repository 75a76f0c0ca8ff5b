// Child-process transport: the shared loop over the IPC channel; the child leaves when its parent does.
import type { ToWorker } from '../protocol.js';
import { startLoop } from './loop.js';
import { outputPending } from './stdio.js';

process.on('disconnect', () => process.exit(0));
startLoop({
  post: (message) => process.send!(message),
  onMessage: (handler) => process.on('message', (message) => handler(message as ToWorker)),
  exit: (code) => process.exit(code),
  output: outputPending,
});
