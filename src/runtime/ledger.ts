// The local executor's books: one record per chunk and one per worker. Every change of a chunk's state happens
// here, and here the events are made that stats() sums and the diagnostics channels publish.
import type { WorkerEnd } from '../errors.js';
import type { ChunkJob, ChunkResult } from '../executor.js';
import { chunkChannel, fnName, type WorkerEvent, workerChannel } from '../insight/channels.js';
import { type ChunkSample, type PoolStats, Tally, type WorkerStats } from '../insight/stats.js';

/** A chunk as the ledger keeps it: its job, which carries its record (state, worker, times; see ChunkJob). */
export type ChunkRecord = ChunkJob;

/** Where a worker is in its life. */
export type WorkerState = 'starting' | 'idle' | 'busy' | 'stopping';

/** One worker as the ledger counts it. */
interface WorkerBook {
  id: number;
  pid: number | undefined;
  threadId: number | undefined;
  startedAt: number;
  chunks: number;
  items: number;
  failed: number;
  busyMs: number;
  copyMs: number;
  heapUsed: number | undefined;
  /** The worker this one replaced, and what ended that one. */
  replaced: { id: number; kind: WorkerEnd; reason: string } | undefined;
}

/** What the ledger tells its executor: each settled chunk's outcome, for the pool. */
export type SettleHook = (record: ChunkRecord, result: ChunkResult) => void;

function publish(event: WorkerEvent): void {
  workerChannel.publish(event);
}

export class Ledger {
  readonly #settle: SettleHook;
  readonly #pool: number;
  readonly #workers = new Map<number, WorkerBook>();
  readonly #tally = new Tally();
  /** Chunks queued or in flight, by state: what stats() reports without walking them. */
  #queued = 0;
  #sent = 0;
  #running = 0;

  constructor(pool: number, settle: SettleHook) {
    this.#pool = pool;
    this.#settle = settle;
  }

  /** A chunk submitted: its record, queued. */
  queue(job: ChunkJob): ChunkRecord {
    this.#queued++;
    job.state = 'queued';
    if (chunkChannel.hasSubscribers) job.times = { queuedAt: Date.now(), sentAt: -1, copyMs: 0 };
    return job;
  }

  /** A batch went to a worker, taking `copyMs` to build and send. */
  sent(records: readonly ChunkRecord[], worker: number, copyMs: number): void {
    // When it began to go (the worker may start it before postMessage returns), for the chunks that keep times.
    let at = -1;
    for (const record of records) {
      record.state = 'sent';
      record.worker = worker;
      record.attempts++;
      const times = record.times;
      if (times !== null) {
        if (at < 0) at = Date.now() - copyMs;
        times.sentAt = at;
        times.copyMs += copyMs / records.length;
      }
    }
    this.#queued -= records.length;
    this.#sent += records.length;
    this.#tally.copied(copyMs);
    const book = this.#workers.get(worker);
    if (book) book.copyMs += copyMs;
  }

  /** A chunk sent to a worker is known to have started there (see Slot.started). */
  running(record: ChunkRecord): void {
    if (record.state !== 'sent') return;
    record.state = 'running';
    this.#sent--;
    this.#running++;
  }

  /** A chunk sent to a worker comes back to the queue: taken back unstarted, or to run again elsewhere. */
  requeued(record: ChunkRecord): void {
    if (!this.#leave(record)) return;
    record.state = 'queued';
    this.#queued++;
  }

  /** A chunk that went, or waited, without an outcome anyone will hear of (cancelled, or the pool ended). */
  dropped(record: ChunkRecord): void {
    if (this.#leave(record)) record.state = 'settled';
  }

  /** Takes a chunk out of the count of its state; false if it was settled already. */
  #leave(record: ChunkRecord): boolean {
    switch (record.state) {
      case 'queued':
        this.#queued--;
        return true;
      case 'sent':
        this.#sent--;
        return true;
      case 'running':
        this.#running--;
        return true;
      case 'settled':
      case 'lost':
        return false;
      default: {
        const never: never = record.state;
        throw new Error(`mpool internal: unknown chunk state ${String(never)}`);
      }
    }
  }

  /**
   * A chunk's outcome as its worker reported it: `at` is when the worker built its message (ms since the
   * epoch, by its clock), `startUs` how long before that the chunk started and `runUs` how long it ran, in
   * whole µs (-1 and 0: it did not run). `now`: Date.now(), read once for a whole message of outcomes.
   */
  reported(
    record: ChunkRecord,
    result: ChunkResult,
    at: number,
    startUs: number,
    runUs: number,
    now: number,
  ): void {
    this.#leave(record);
    record.state = 'settled';
    const ran = startUs >= 0 && at > 0;
    const runMs = runUs / 1000;
    this.#tally.add(result.ok, record.items.length, ran, runMs, now);
    if (chunkChannel.hasSubscribers) this.#publish(record, result, ran ? at - startUs / 1000 : 0, runMs, now);
    this.#settle(record, result);
  }

  /**
   * A chunk's outcome decided by the pool: an error before it ran, a timeout, a loss. `lost`: its worker was
   * lost with it.
   */
  settled(record: ChunkRecord, result: ChunkResult, lost = false): void {
    this.#leave(record);
    record.state = lost ? 'lost' : 'settled';
    const now = Date.now();
    this.#tally.add(result.ok, record.items.length, false, 0, now);
    if (chunkChannel.hasSubscribers) this.#publish(record, result, 0, 0, now);
    this.#settle(record, result);
  }

  /** The mpool:chunk message of a settled chunk (`startedAt` 0: it did not run). */
  #publish(record: ChunkRecord, result: ChunkResult, startedAt: number, runMs: number, now: number): void {
    const items = record.items.length;
    const times = record.times;
    const sample: ChunkSample = {
      pool: this.#pool,
      call: record.call,
      chunk: record.id,
      fn: fnName(record.fn),
      items,
      worker: record.worker,
      attempts: record.attempts,
      queuedAt: times?.queuedAt ?? 0,
      sentAt: times && times.sentAt > 0 ? times.sentAt : 0,
      startedAt,
      runMs,
      settledAt: now,
      copyMs: times?.copyMs ?? 0,
      ok: result.ok,
      error: result.ok ? undefined : result.error,
    };
    chunkChannel.publish(sample);
  }

  /**
   * What a worker's message of outcomes told: how many chunks settled, their items, the failed ones and the
   * time they ran, the time the worker spent sending its earlier messages, and its heap when it measured it.
   */
  workerDid(
    worker: number,
    report: { chunks: number; items: number; failed: number; busyMs: number; copyMs: number; heap: number },
  ): void {
    const book = this.#workers.get(worker);
    if (!book) return;
    book.chunks += report.chunks;
    book.items += report.items;
    book.failed += report.failed;
    book.busyMs += report.busyMs;
    book.copyMs += report.copyMs;
    if (report.heap > 0) book.heapUsed = report.heap;
  }

  /** A worker started; `replaced` is the one it stands in for. */
  workerStarted(
    id: number,
    pid: number | undefined,
    threadId: number | undefined,
    replaced?: { id: number; kind: WorkerEnd; reason: string },
  ): void {
    this.#workers.set(id, {
      id,
      pid,
      threadId,
      startedAt: Date.now(),
      chunks: 0,
      items: 0,
      failed: 0,
      busyMs: 0,
      copyMs: 0,
      heapUsed: undefined,
      replaced,
    });
    if (workerChannel.hasSubscribers) {
      const pool = this.#pool;
      if (replaced) publish({ event: 'replaced', pool, ...replaced, worker: replaced.id, by: id });
      publish({ event: 'started', pool, worker: id, pid, threadId, replaced });
    }
  }

  /** A worker finished its initializer and takes work. */
  workerReady(id: number): void {
    if (workerChannel.hasSubscribers) publish({ event: 'ready', pool: this.#pool, worker: id });
  }

  /**
   * A worker ended. `lost`: it ended without being told to (a crash, an exit, a signal, out of memory), or
   * was stopped for a task's sake (a timeout, a cancel); otherwise the pool stopped it (close, idle, ...).
   */
  workerEnded(id: number, kind: WorkerEnd, reason: string, lost: boolean): void {
    const book = this.#workers.get(id);
    this.#workers.delete(id);
    this.#tally.workerEnded(kind);
    if (workerChannel.hasSubscribers) {
      publish({
        event: lost ? 'lost' : 'stopped',
        pool: this.#pool,
        worker: id,
        pid: book?.pid,
        threadId: book?.threadId,
        kind,
        reason,
        chunks: book?.chunks ?? 0,
        items: book?.items ?? 0,
      });
    }
  }

  /** Per worker, with its state as the executor tells it. */
  #workerStats(stateOf: (id: number) => WorkerState): WorkerStats[] {
    const now = Date.now();
    const out: WorkerStats[] = [];
    for (const book of this.#workers.values()) {
      const lifeMs = now - book.startedAt;
      out.push({
        id: book.id,
        pid: book.pid,
        threadId: book.threadId,
        state: stateOf(book.id),
        chunks: book.chunks,
        items: book.items,
        failed: book.failed,
        busyMs: book.busyMs,
        copyMs: book.copyMs,
        idleMs: Math.max(0, lifeMs - book.busyMs - book.copyMs),
        heapUsed: book.heapUsed,
        replaced: book.replaced,
      });
    }
    return out;
  }

  /** The pool as these books see it; `stateOf` gives each worker's state. */
  stats(stateOf: (id: number) => WorkerState): Omit<PoolStats, 'runtime'> {
    return {
      workers: this.#workerStats(stateOf),
      queued: this.#queued,
      sent: this.#sent,
      running: this.#running,
      ...this.#tally.snapshot(Date.now()),
    };
  }
}
