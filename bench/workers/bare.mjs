// A bare worker_threads worker: answers each { id, name, arg } with { id, value }. The floor a pool starts
// from: no queue, no batching, no error handling, nothing a pool adds.
import { parentPort } from 'node:worker_threads';
import { mapChunk, WORK } from './work.mjs';

const fns = { ...WORK, mapChunk };
parentPort.on('message', ({ id, name, arg }) => parentPort.postMessage({ id, value: fns[name](arg) }));
