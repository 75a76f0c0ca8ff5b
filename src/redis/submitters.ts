// A node's watch on the submitters whose chunks it runs: each keeps a heartbeat key alive (see aliveKey); the
// chunks of one that went away are dropped (queued) and stopped (running), and its unread results deleted.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { aliveKey, resultsKey } from './wire.js';

// How often a node looks for submitters that went away, and how long it remembers the heartbeat of one whose
// chunks it no longer has (after that, a chunk of it looks the heartbeat up again).
const ALIVE_CHECK_MS = 1000;
const FORGET_MS = 60_000;

/** A chunk this node runs, as the watch sees it. */
export interface Running {
  controller: AbortController;
  /** Handed back to the queue on shutdown (unless its submitter cancelled it too). */
  released: boolean;
  /** Its submitter cancelled it: it fails, never goes back to the queue. */
  cancelled: boolean;
  /** The chunk's submitter (see submitterOf). */
  submitter: string | undefined;
}

export class SubmitterWatch {
  readonly #cmd: Redis;
  readonly #jobs: Queue;
  readonly #key: (submitter: string) => string;
  readonly #resultsKey: (submitter: string) => string;
  readonly #running: ReadonlyMap<string, Running>;
  readonly #log: (line: string) => void;
  /** Submitters' heartbeats, looked up at most once a check interval each. */
  readonly #alive = new Map<string, { alive: boolean; at: number }>();
  /** Submitters this node sent results to, whose streams it deletes should they go before reading them. */
  readonly #served = new Set<string>();
  /** Chunks stopped or refused because their submitter is gone: their jobs are removed once failed. */
  readonly dropped = new Set<string>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    cmd: Redis,
    jobs: Queue,
    where: { prefix: string; queue: string },
    running: ReadonlyMap<string, Running>,
    log: (line: string) => void,
  ) {
    this.#cmd = cmd;
    this.#jobs = jobs;
    this.#key = (submitter) => aliveKey(where.prefix, where.queue, submitter);
    this.#resultsKey = (submitter) => resultsKey(where.prefix, where.queue, submitter);
    this.#running = running;
    this.#log = log;
    this.#timer = setInterval(() => void this.#sweep(), ALIVE_CHECK_MS);
    this.#timer.unref();
  }

  /** Whether the submitter's heartbeat has lapsed (an unreachable Redis counts as alive). */
  async isGone(submitter: string): Promise<boolean> {
    const known = this.#alive.get(submitter);
    if (known && Date.now() - known.at < ALIVE_CHECK_MS) return !known.alive;
    let exists = 1;
    try {
      exists = await this.#cmd.exists(this.#key(submitter));
    } catch {
      // Redis unreachable: assume alive; the chunk's fate is decided once it is back.
    }
    this.#alive.set(submitter, { alive: exists === 1, at: Date.now() });
    return exists !== 1;
  }

  /** This node sent the submitter something: its stream is deleted should the submitter go before reading it. */
  served(submitter: string): void {
    this.#served.add(submitter);
  }

  removeJob(jobId: string): void {
    void this.#jobs.remove(jobId).catch(() => {});
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #sweep(): Promise<void> {
    const submitters = new Set<string>(this.#served);
    for (const run of this.#running.values()) if (run.submitter) submitters.add(run.submitter);
    for (const submitter of submitters) {
      if (!(await this.isGone(submitter))) continue;
      for (const [id, run] of this.#running) {
        if (run.submitter !== submitter || run.controller.signal.aborted) continue;
        this.#log(`chunk ${id}: stopping it, its submitter is gone`);
        this.dropped.add(id);
        run.controller.abort();
      }
      if (this.#served.delete(submitter)) void this.#cmd.del(this.#resultsKey(submitter)).catch(() => {});
      this.#alive.delete(submitter);
    }
    // A node serving many short-lived submitters over weeks must not keep every one it ever looked up.
    const now = Date.now();
    for (const [submitter, known] of this.#alive) {
      if (now - known.at > FORGET_MS && !submitters.has(submitter)) this.#alive.delete(submitter);
    }
  }

  /** How many submitters the node remembers a heartbeat of. */
  get remembered(): number {
    return this.#alive.size;
  }
}
