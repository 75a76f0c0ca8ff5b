// The Redis executor's books: one entry per chunk this submitter has in flight, where each entry's state
// changes (queued here, added to Redis, taken by a node, settled), and what stats() and mpool:chunk report.
import type { ChunkJob, ChunkResult } from '../executor.js';
import { chunkChannel, fnName } from '../insight/channels.js';
import { type ChunkSample, type PoolStats, Tally } from '../insight/stats.js';
import type { JobData } from './wire.js';

// BullMQ's lowest priority (its highest number).
const PRIORITY_MAX = 2 ** 21 - 1;

export interface Entry {
  job: ChunkJob;
  jobId: string;
  data: JobData | null;
  /** BullMQ has the job (its add resolved). */
  added: boolean;
  /** When the sweep may next look this chunk up, and how long it then waits again (doubling). */
  nextCheck: number;
  checkEvery: number;
  /** Its place in its call (1 for the first chunk), its BullMQ priority: see RedisBooks.add. */
  priority: number;
  /** Times the job vanished from Redis (a restart without persistence) and was added again. */
  readded: number;
  /** When it was submitted, added to Redis, and started by a node (as its stream said), in ms since the epoch. */
  queuedAt: number;
  sentAt: number;
  startedAt: number;
}

export class RedisBooks {
  readonly #pool: number;
  readonly #entries = new Map<number, Entry>();
  readonly #tally = new Tally();
  /** Per call in flight: its next chunk's place, and its chunks in the books. */
  readonly #calls = new Map<number, { next: number; live: number }>();
  /** Chunks a node said it started and that have not settled. */
  #running = 0;

  constructor(pool: number) {
    this.#pool = pool;
  }

  get size(): number {
    return this.#entries.size;
  }

  values(): IterableIterator<Entry> {
    return this.#entries.values();
  }

  /**
   * A chunk submitted: its entry, not yet in Redis. Fair sharing: its BullMQ priority is its place in its
   * call, so nodes take every call's k-th chunk before any call's (k+1)-th, and a small map started while long
   * maps run waits for the chunks already running, not for the long maps' queued ones, whoever submitted them.
   */
  add(job: ChunkJob, jobId: string, firstCheck: number): Entry {
    const now = Date.now();
    let call = this.#calls.get(job.call);
    if (!call) {
      call = { next: 1, live: 0 };
      this.#calls.set(job.call, call);
    }
    call.live++;
    const entry: Entry = {
      job,
      jobId,
      data: null,
      added: false,
      nextCheck: now + firstCheck,
      checkEvery: firstCheck,
      priority: Math.min(PRIORITY_MAX, call.next++),
      readded: 0,
      queuedAt: now,
      sentAt: 0,
      startedAt: 0,
    };
    this.#entries.set(job.id, entry);
    return entry;
  }

  /** The entry of a chunk still in flight. */
  get(id: number): Entry | undefined {
    return this.#entries.get(id);
  }

  /** Whether the entry is still the one in flight for its chunk (not cancelled or settled meanwhile). */
  live(entry: Entry): boolean {
    return this.#entries.get(entry.job.id) === entry;
  }

  /** BullMQ has these jobs. */
  added(entries: readonly Entry[]): void {
    const now = Date.now();
    for (const entry of entries) {
      entry.added = true;
      entry.sentAt = now;
    }
  }

  /** A node took the chunk (as far as the submitter can tell: the event comes through Redis). */
  started(entry: Entry): void {
    if (entry.startedAt !== 0 || !this.live(entry)) return;
    entry.startedAt = Date.now();
    this.#running++;
  }

  /** A chunk leaves the books without an outcome anyone will hear of (cancelled). */
  drop(id: number): Entry | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    this.#entries.delete(id);
    if (entry.startedAt !== 0) this.#running--;
    const call = this.#calls.get(entry.job.call);
    if (call && --call.live === 0) this.#calls.delete(entry.job.call);
    return entry;
  }

  /** Every chunk leaves the books (terminate); returns them. */
  dropAll(): Entry[] {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    this.#calls.clear();
    this.#running = 0;
    return all;
  }

  /** A chunk's outcome: false if it had left the books already. Publishes it on mpool:chunk. */
  settled(entry: Entry, result: ChunkResult): boolean {
    if (!this.live(entry)) return false;
    this.drop(entry.job.id);
    const settledAt = Date.now();
    const { job } = entry;
    const items = job.items.length;
    // From the node taking the job to its result arriving here: the run, and a trip through Redis.
    const runMs = entry.startedAt === 0 ? 0 : settledAt - entry.startedAt;
    this.#tally.add(result.ok, items, entry.startedAt !== 0, runMs, settledAt);
    if (chunkChannel.hasSubscribers) {
      const sample: ChunkSample = {
        pool: this.#pool,
        call: job.call,
        chunk: job.id,
        fn: fnName(job.fn),
        items,
        worker: 0,
        attempts: entry.readded + (entry.added ? 1 : 0),
        queuedAt: entry.queuedAt,
        sentAt: entry.sentAt,
        startedAt: entry.startedAt,
        runMs,
        settledAt,
        copyMs: 0,
        ok: result.ok,
        error: result.ok ? undefined : result.error,
      };
      chunkChannel.publish(sample);
    }
    return true;
  }

  /** What this submitter knows: its own chunks. The nodes' workers are theirs (see README). */
  stats(): Omit<PoolStats, 'runtime'> {
    let queued = 0;
    for (const entry of this.#entries.values()) if (!entry.added) queued++;
    return {
      workers: [],
      queued,
      sent: this.#entries.size - queued - this.#running,
      running: this.#running,
      ...this.#tally.snapshot(Date.now()),
    };
  }
}
