// Which chunks go to which worker, and when: batches sized by the cost model (schedule.ts), a second batch
// behind a busy worker, chunks taken back from a busy thread for an idle one, and the sending itself.
import { performance } from 'node:perf_hooks';
import type { TransferListItem } from 'node:worker_threads';
import { findTooDeep, TOO_DEEP } from '../depth.js';
import { SerializationError, TaskTimeoutError, type WorkerEnd } from '../errors.js';
import type { ChunkJob, ExecutorConfig } from '../executor.js';
import type { FnRef } from '../protocol.js';
import { after } from '../timer.js';
import { claimCells } from '../wire/claim.js';
import { encodeChunks, transferList } from '../wire/codec.js';
import { hasTransfers } from '../wire/transfer.js';
import { findUncloneable } from './clone.js';
import type { ChunkRecord, Ledger } from './ledger.js';
import { RunQueue } from './queue.js';
import { batchRoom, ChunkCosts, canPrefetch, holdsResults, type ItemSample, steady } from './schedule.js';
import type { Slot } from './slot.js';

/** What the dispatcher needs of its executor. */
export interface DispatchHost {
  readonly size: number;
  readonly config: ExecutorConfig;
  readonly slots: ReadonlySet<Slot>;
  readonly ledger: Ledger;
  /** Stops a worker now (see LocalExecutor). */
  stop(slot: Slot, kind: WorkerEnd, because: string): void;
  /** Chunks left the queue for a worker. */
  dequeued(): void;
  /** Chunks settled without reaching a worker: the executor looks at its state again. */
  afterProgress(): void;
  /** Starts workers for chunks that wait with no worker free, where the pool may grow; whether it did. */
  grow(): boolean;
}

export class Dispatcher {
  /** Chunks waiting for a worker. */
  readonly queue = new RunQueue();
  readonly #host: DispatchHost;
  /** Per-function chunk costs: batch sizes follow them, and prefetching waits for a steady estimate. */
  readonly #costs = new ChunkCosts();
  /** Functions whose chunks moved buffers with transfer(): a worker's unstarted ones cannot be taken back. */
  readonly #moves = new Set<number>();

  constructor(host: DispatchHost) {
    this.#host = host;
  }

  /** A chunk sent to a worker runs again: first in line, before anything submitted since. */
  requeue(record: ChunkRecord): void {
    this.#host.ledger.requeued(record);
    this.queue.pushFront(record);
  }

  msPerItem(fnId: number): number | undefined {
    return this.#costs.msPerItem(fnId);
  }

  /**
   * When the queue has run dry, gives each idle worker half of the unstarted chunks of the worker that has
   * the most, taken back through their claim cells (threads only): the end of a long run of slow chunks then
   * balances without the pool handing out ever smaller batches.
   */
  #steal(): void {
    const max = this.#host.config.maxtasksperchild;
    for (const thief of this.#host.slots) {
      if (!thief.idle || !thief.ready) continue;
      const room = max === null ? Number.POSITIVE_INFINITY : max - thief.tasksDone;
      if (room <= 0) continue;
      let victim: Slot | undefined;
      let unstarted: number[] = [];
      for (const slot of this.#host.slots) {
        if (slot === thief || !slot.busy) continue;
        const ids = slot.unstarted();
        // A ready worker that has started nothing it holds is about to start its first: taking that one would
        // only pass a lone chunk on from one idle worker to the next. The ones behind it wait on it, so they go.
        // A worker still starting (booting, or in its initializer) is not about to: the first worker ready
        // takes its share, the first chunk too, whichever thread the operating system happened to start first.
        if (ids.length === slot.holding && slot.ready) ids.shift();
        if (ids.length > unstarted.length) [victim, unstarted] = [slot, ids];
      }
      if (!victim) return;
      const want = Math.min(room, Math.ceil(unstarted.length / 2));
      const taken: ChunkRecord[] = [];
      // From the end, where the victim is furthest from starting; it starts them in order, so a chunk it has
      // claimed meanwhile means every one before it is claimed too. A batch takes chunks of one function only
      // (see #sendBatch), so this one takes those of the last chunk's.
      for (let k = unstarted.length - 1; k >= 0 && taken.length < want; k--) {
        const id = unstarted[k]!;
        const record = victim.held(id)!;
        if (record.fnId !== (taken[0] ?? record).fnId || !victim.revoke(id)) break;
        taken.push(record);
      }
      if (taken.length === 0) continue;
      for (let k = taken.length - 1; k >= 0; k--) this.requeue(taken[k]!);
      this.#sendBatch(thief, taken.length, holdsResults(this.#costs, taken[0]!.fnId));
    }
  }

  // Cost per chunk as the pool sees it (time since the worker last reported, copying included) and as the
  // worker measured it (`workerMs`, for `count` chunks), and per item (`sample`, see settleBatch), credited to
  // the function whose chunks reported (the latest batch sent may be of another).
  learn(slot: Slot, fnId: number | undefined, count: number, workerMs: number, sample: ItemSample): void {
    const now = performance.now();
    const busyMs = now - slot.lastAt;
    slot.lastAt = now;
    if (fnId === undefined) return;
    this.#costs.learn(fnId, busyMs / count, count, workerMs, sample);
  }

  /** Sends waiting chunks to the workers that should take them now. */
  dispatch(): void {
    // Idle workers first; then a second batch for busy ones, so they never wait a round trip between batches.
    for (const prefetch of [false, true]) {
      // Only while every worker is busy: a worker that is idle, starting or about to be replaced takes the
      // next chunk itself, rather than have it wait behind a chunk that may wait for it (a process cannot
      // give back what it was sent, and a thread's waits for an event that lets another take it back).
      if (prefetch && !this.#allBusy()) break;
      // A thread's unstarted chunks can be taken back, so the threads this pass serves split what was queued
      // when it began evenly, rather than each taking a share of what the ones before it left.
      const queuedAtStart = this.queue.size;
      const head = this.queue.peek();
      if (!head) break;
      let served = 0;
      for (const slot of this.#host.slots) {
        if (prefetch ? this.#canPrefetch(slot, head, true) : slot.idle) served++;
      }
      for (const slot of this.#serving()) {
        const first = this.queue.peek();
        if (!first) break;
        const robbable = slot.handle.sharesMemory && !this.#moves.has(first.fnId);
        if (prefetch ? !this.#canPrefetch(slot, first, robbable) : !slot.idle) continue;
        // An exclusive chunk's timeout counts from its start, so it waits for a worker past its initializer.
        if (first.exclusive && !slot.ready) continue;
        const max = this.#host.config.maxtasksperchild;
        const owed = slot.owed();
        if (max !== null && slot.tasksDone + owed >= max) {
          if (owed === 0) this.#host.stop(slot, 'max-tasks', 'it reached maxtasksperchild');
          continue;
        }
        const queued = robbable ? queuedAtStart : this.queue.size;
        const ahead = prefetch || (robbable && steady(this.#costs, first, this.#host.size));
        const workers = this.#host.slots.size;
        let { room, deep } = batchRoom(this.#costs, first, queued, workers, ahead, robbable, served);
        if (max !== null) room = Math.min(room, max - slot.tasksDone - owed);
        this.#sendBatch(slot, room, deep);
      }
    }
    if (this.queue.size === 0) this.#steal();
    // What still waits with no worker free starts workers, up to `size`; they take it at once.
    else if (this.#host.grow()) this.dispatch();
  }

  /**
   * The workers in the order a pass serves them: ready ones first. A chunk goes to a worker still starting
   * only when no ready one takes it; else a ready thread would take it back at once (#steal), sending it twice.
   */
  #serving(): Iterable<Slot> {
    const slots = this.#host.slots;
    for (const slot of slots) {
      // A stable sort: each group keeps the order the workers were started in.
      if (!slot.ready) return [...slots].sort((a, b) => Number(b.ready) - Number(a.ready));
    }
    return slots;
  }

  #allBusy(): boolean {
    let busy = 0;
    for (const slot of this.#host.slots) if (slot.busy) busy++;
    return busy >= this.#host.size;
  }

  #canPrefetch(slot: Slot, next: ChunkJob, robbable: boolean): boolean {
    return slot.busy && canPrefetch(this.#costs, slot, next, this.#host.size, performance.now(), robbable);
  }

  /** `deep`: the batch goes well ahead of need (see batchRoom), so its results may be held. */
  #sendBatch(slot: Slot, room: number, deep: boolean): void {
    const jobs: ChunkRecord[] = [];
    while (jobs.length < room) {
      const next = this.queue.peek();
      // An exclusive chunk (timeout or abortable) travels alone: its clock starts when it starts, and stopping
      // its worker stops nothing else.
      if (!next || (jobs.length > 0 && next.exclusive)) break;
      // A batch sent deep ahead was sized for its first function's chunks: it takes no others.
      if (deep && jobs.length > 0 && next.fnId !== jobs[0]!.fnId) break;
      this.queue.take();
      if (!slot.handle.readsAnyDepth && this.#refusedTooDeep(next)) continue;
      jobs.push(next);
      if (next.exclusive) break;
    }
    if (jobs.length === 0) return;
    const fns: Array<[number, FnRef]> = [];
    let lastFn = -1;
    for (const job of jobs) {
      if (job.fnId === lastFn) continue;
      lastFn = job.fnId;
      if (!slot.knownFns.has(job.fnId) && !fns.some(([id]) => id === job.fnId)) fns.push([job.fnId, job.fn]);
    }
    const moved: TransferListItem[] = [];
    // A batch to a thread carries claim cells, so that the pool can take back what the worker has not started:
    // for another worker that runs dry (#steal), when its call is cancelled, or when the worker dies. Not an
    // exclusive chunk: it travels alone, and stopping its worker is how it is cancelled.
    let cells: Int32Array | null = null;
    let given = -1;
    if (slot.handle.sharesMemory && !jobs[0]!.exclusive) {
      // The worker's own cells if they have room, else the batch's own.
      given = slot.ring?.take(jobs.length) ?? -1;
      cells = given >= 0 ? slot.ring!.cells : claimCells(jobs.length);
    }
    const began = performance.now();
    try {
      const batch = encodeChunks(jobs, moved, {
        share: slot.handle.sharesMemory,
        hold: deep,
        ...(given >= 0 ? { claimAt: slot.ring!.at(given) } : { claims: cells }),
      });
      slot.handle.send({ type: 'run', fns, batch }, transferList(batch.numbers, moved));
    } catch (err) {
      this.#sendApart(jobs, err);
      return;
    }
    const now = performance.now();
    this.#host.ledger.sent(jobs, slot.id, now - began);
    // The worker loads each new function for its first chunk of it (see Slot.loadedFor).
    for (const [fnId] of fns) slot.knownFns.set(fnId, jobs.find((job) => job.fnId === fnId)!.id);
    // A chunk whose buffers moved with transfer() left them with this thread: it could not be sent again
    // whole, so it is never taken back, and its function is no longer scheduled as if it could be.
    let movable: ((record: ChunkRecord) => boolean) | undefined;
    if (moved.length > 0) {
      movable = (record) => !hasTransfers(record.items);
      this.#moves.add(jobs[0]!.fnId);
    }
    slot.sent(jobs, cells, given, now, movable);
    this.#host.dequeued();
    const timed = jobs[0]!;
    if (timed.exclusive) slot.timed = true;
    if (timed.timeout !== null) {
      slot.timer = after(timed.timeout, () => this.#timedOut(slot, timed));
    }
  }

  /**
   * Fails a chunk with an argument nested deeper than its worker can read back: sent, it would kill the
   * receiver (a process) or be lost there, and no call could be told. A walk of every argument, so it runs
   * only where the worker's reader is the limit (see WorkerHandle.readsAnyDepth).
   */
  #refusedTooDeep(record: ChunkRecord): boolean {
    const job = record;
    const deep = findTooDeep(job.items);
    if (deep < 0) return false;
    const error = new SerializationError(job.base + deep, 'argument', TOO_DEEP);
    this.#host.ledger.settled(record, { ok: false, error });
    return true;
  }

  // A batch could not be cloned: fail exactly the chunks whose items cannot cross, and run the rest.
  #sendApart(records: ChunkRecord[], err: unknown): void {
    const bad = records.map((job) => findUncloneable(job.items, job.base));
    if (bad.every((e) => e === null)) {
      // Every item clones on its own, so the message itself could not go: fail the batch rather than loop.
      for (const record of records) this.#host.ledger.settled(record, { ok: false, error: err });
      return;
    }
    for (let i = records.length - 1; i >= 0; i--) {
      const error = bad[i];
      if (error) this.#host.ledger.settled(records[i]!, { ok: false, error });
      else this.queue.putBack(records[i]!);
    }
    this.#host.afterProgress();
  }

  #timedOut(slot: Slot, record: ChunkRecord): void {
    // Even if the chunk was cancelled meanwhile, its worker is still running it: stop the worker all the same.
    if (slot.release(record.id)) {
      this.#host.ledger.settled(record, { ok: false, error: new TaskTimeoutError(record.timeout!) });
    }
    if (!slot.killed) this.#host.stop(slot, 'timeout', 'it was stopped because another task on it timed out');
  }
}
