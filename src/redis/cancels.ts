// A node's side of the cancel channel. Submitters publish the ids of chunks to stop (cancellation, terminate);
// every node hears every id, and stops those it runs. A submitter publishes the ids of jobs it could not remove
// because a node had taken them, and that node may not have reached its processor yet: so ids not running here
// are kept a while, and such a chunk is refused when it gets there.
import { performance } from 'node:perf_hooks';
import type { Running } from './submitters.js';

/** How long cancelled ids that were not running here are kept: a chunk a node took starts within milliseconds. */
export const EARLY_MS = 30_000;
/** And how many, at most (the oldest go first). */
export const EARLY_MAX = 10_000;

export class Cancels {
  readonly #running: ReadonlyMap<string, Running>;
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  /** Ids cancelled while not running here, oldest first, with when they were heard. */
  readonly #early = new Map<string, number>();

  constructor(
    running: ReadonlyMap<string, Running>,
    log: (line: string) => void,
    now: () => number = () => performance.now(),
  ) {
    this.#running = running;
    this.#log = log;
    this.#now = now;
  }

  /** A message on the cancel channel: a JSON list of job ids. Anything else is ignored. */
  heard(message: string): void {
    let ids: unknown;
    try {
      ids = JSON.parse(message);
    } catch {
      return;
    }
    if (!Array.isArray(ids)) return;
    const now = this.#now();
    const early = this.#early;
    for (const jobId of ids) {
      if (typeof jobId !== 'string') continue;
      const run = this.#running.get(jobId);
      if (run) {
        // Even one already stopped for the node's shutdown: it fails now rather than go back to the queue.
        run.cancelled = true;
        if (!run.controller.signal.aborted) {
          this.#log(`chunk ${jobId}: stopping it, its submitter cancelled it`);
          run.controller.abort();
        }
      } else {
        early.delete(jobId); // heard again: it moves to the newest end
        early.set(jobId, now);
      }
    }
    for (const [jobId, at] of early) {
      if (now - at < EARLY_MS && early.size <= EARLY_MAX) break;
      early.delete(jobId);
    }
  }

  /** Whether the chunk was cancelled before it started here; it is forgotten then. */
  cancelledEarly(jobId: string): boolean {
    return this.#early.delete(jobId);
  }

  /** How many ids are kept. */
  get size(): number {
    return this.#early.size;
  }
}
