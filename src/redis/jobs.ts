// The submitter's writes to BullMQ: chunks added in bulk, failed jobs it has read removed in batches, and
// cancelled jobs removed or, when a node already runs them, stopped through the cancel channel.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChunkResult } from '../executor.js';
import type { ResolvedRedisOptions } from '../options.js';
import type { Entry, RedisBooks } from './books.js';
import { encodeJob } from './encode.js';
import { cancelChannel, JOB_NAME, type JobData } from './wire.js';

// How long a failed job stays in Redis, if its submitter never reads and removes it (it died).
const KEEP = { age: 3600, count: 100_000 };
const ADD_BATCH = 500;

const noop = (): void => {};

/** What the job writer needs of its executor. */
export interface JobsHost {
  readonly queue: Queue;
  readonly cmd: Redis;
  readonly options: ResolvedRedisOptions;
  readonly books: RedisBooks;
  stopped(): boolean;
  /** A chunk that could not be encoded or added fails with this. */
  settle(entry: Entry, result: ChunkResult): void;
  /** When the sweep should first look an added chunk up (ms from now). */
  readonly firstCheckMs: number;
}

export class RedisJobs {
  readonly #host: JobsHost;
  #toAdd: Entry[] = [];
  #adding = false;
  #toRemove: string[] = [];
  /** Cancelled jobs that may still be running: removed when they finish. */
  readonly #zombies = new Set<string>();
  /** Settles once the batch on its way to Redis is there (see drop); null when none is. */
  #sending: Promise<void> | null = null;

  constructor(host: JobsHost) {
    this.#host = host;
  }

  /** Encodes a chunk's job and adds it (in a batch with others). */
  async add(entry: Entry): Promise<void> {
    let data: JobData;
    try {
      data = await encodeJob(entry.job, this.#host.options);
    } catch (error) {
      this.#host.settle(entry, { ok: false, error });
      return;
    }
    if (!this.#host.books.live(entry)) return; // cancelled meanwhile
    entry.data = data;
    this.readd(entry);
  }

  /** Adds an encoded chunk's job (again: it vanished from Redis). */
  readd(entry: Entry): void {
    entry.added = false;
    this.#toAdd.push(entry);
    if (!this.#adding) void this.#flushAdds();
  }

  /** Forgets the chunks not yet added (terminate). */
  clear(): void {
    this.#toAdd = [];
  }

  // Adds go out in bulk (one MULTI per batch); while Redis is down they wait in ioredis' offline queue.
  async #flushAdds(): Promise<void> {
    const host = this.#host;
    this.#adding = true;
    try {
      await Promise.resolve(); // the chunks being submitted with this one join its batch
      while (this.#toAdd.length > 0 && !host.stopped()) {
        const batch = this.#toAdd.splice(0, ADD_BATCH).filter((entry) => host.books.live(entry));
        if (batch.length === 0) continue;
        let sent!: () => void;
        this.#sending = new Promise<void>((resolve) => {
          sent = resolve;
        });
        try {
          await host.queue.addBulk(
            batch.map((entry) => ({
              name: JOB_NAME,
              data: entry.data,
              opts: {
                jobId: entry.jobId,
                priority: entry.priority,
                attempts: 1,
                // The result went to this submitter's own stream: the finished job holds nothing to read.
                removeOnComplete: true,
                removeOnFail: KEEP,
              },
            })),
          );
          host.books.added(batch);
          const now = Date.now();
          for (const entry of batch) entry.nextCheck = now + host.firstCheckMs;
        } catch (error) {
          if (host.stopped()) return;
          for (const entry of batch) host.settle(entry, { ok: false, error });
        } finally {
          this.#sending = null;
          sent();
        }
      }
    } finally {
      this.#adding = false;
    }
  }

  // Failed jobs, once read, are removed in batches; KEEP (an hour) is only the fallback for a submitter that
  // died.
  remove(jobId: string): void {
    this.#toRemove.push(jobId);
    if (this.#toRemove.length === 1) setTimeout(() => void this.flushRemovals(), 50).unref();
  }

  async flushRemovals(): Promise<void> {
    const ids = this.#toRemove;
    this.#toRemove = [];
    await Promise.all(ids.map((id) => this.#host.queue.remove(id).catch(noop)));
  }

  /** A late result of a cancelled job arrived: whether it was one (then its job is removed now). */
  finishedZombie(jobId: string): boolean {
    if (!this.#zombies.delete(jobId)) return false;
    this.remove(jobId);
    return true;
  }

  /**
   * Removes cancelled chunks' jobs; those a node already runs are left to finish, or stopped with `stopRunning`.
   * A chunk whose job never reached Redis (still encoding, queued behind a batch, or its batch failed) has
   * nothing to remove and nobody to stop.
   */
  async drop(entries: readonly Entry[], stopRunning: boolean): Promise<void> {
    // A chunk not yet added may be in the batch on its way: removed now, it would be missed, and a node would run
    // it after all. Those wait for that batch; if it is still not added then, it never reaches Redis.
    const added = entries.filter((entry) => entry.added);
    const notYet = entries.filter((entry) => !entry.added);
    await Promise.all([
      this.#removeOrStop(added, stopRunning),
      notYet.length > 0 ? this.#sending?.then(() => this.#removeOrStop(notYet, stopRunning)) : undefined,
    ]);
  }

  async #removeOrStop(entries: readonly Entry[], stopRunning: boolean): Promise<void> {
    const { queue, cmd, options } = this.#host;
    const jobIds = entries.flatMap((entry) => (entry.added ? [entry.jobId] : []));
    if (jobIds.length === 0) return;
    try {
      const removed = await Promise.all(jobIds.map((id) => queue.remove(id).catch(() => 0)));
      const running = jobIds.filter((_, i) => removed[i] !== 1);
      for (const id of running) this.#zombies.add(id);
      if (stopRunning && running.length > 0) {
        await cmd.publish(cancelChannel(options.connection.prefix, options.queue), JSON.stringify(running));
      }
    } catch {
      // Best effort: a chunk that cannot be stopped still has its result ignored.
    }
  }
}
