// A child's last message, read from a pipe of its own: it is written synchronously from inside process.exit(),
// where an IPC write would die with the process (see postLast in worker/process-entry.ts).
import type { Readable } from 'node:stream';
import { deserialize } from 'node:v8';
import type { FromWorker } from '../protocol.js';

/** Where the pipe is in the child's stdio: after stdin, stdout, stderr and the IPC channel. */
export const LAST_WORDS_FD = 4;

/** Reads length-prefixed messages from `from` and hands each to `onMessage`. */
export function readLastWords(from: Readable, onMessage: (message: FromWorker) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  from.on('data', (data: Buffer) => {
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    while (pending.length >= 4) {
      const size = pending.readUInt32BE(0);
      if (pending.length < 4 + size) break;
      onMessage(deserialize(pending.subarray(4, 4 + size)) as FromWorker);
      pending = pending.subarray(4 + size);
    }
  });
}
