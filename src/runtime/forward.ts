// A child's stdout and stderr, passed on to the pool's own with backpressure: what a worker writes reaches the
// parent's streams before the worker counts as gone.
import { finished, type Readable } from 'node:stream';

/**
 * How long a child's pipes may stay open and quiet after it exited before its exit is reported anyway: a
 * process the task started may hold them open for good.
 */
export const QUIET_AFTER_EXIT_MS = 2000;

/** Copies `from` into `to`, pausing `from` while `to` is full; never ends `to`. Resolves when `from` ends. */
export function forward(
  from: Readable,
  to: NodeJS.WritableStream,
  seen?: (data: Buffer) => void,
): Promise<void> {
  const resume = (): void => {
    to.removeListener('drain', resume);
    to.removeListener('close', resume);
    from.resume();
  };
  from.on('data', (data: Buffer) => {
    seen?.(data);
    const stream = to as NodeJS.WritableStream & { destroyed?: boolean };
    if (!to.write(data) && !stream.destroyed) {
      from.pause();
      to.once('drain', resume);
      to.once('close', resume);
    }
  });
  // A worker that ends or breaks its own stdout only closes its end of the pipe: the parent's stays open.
  return new Promise((resolve) => finished(from, () => resolve()));
}
