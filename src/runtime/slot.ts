// One worker as the local executor keeps its books: what it was sent, what it still owes, and which of its
// chunks can still be taken back through their claim cells (threads only; see Claim in protocol.ts).
import type { WorkerEnd } from '../errors.js';
import { Claim } from '../protocol.js';
import type { Timer } from '../timer.js';
import { type ClaimRing, revoke } from '../wire/claim.js';
import type { WorkerHandle } from './handle.js';
import type { ChunkRecord, WorkerState } from './ledger.js';
import type { Sent } from './schedule.js';

/**
 * A chunk the worker holds, from its sending until it reports or is taken back: its record, the batch that
 * owes its outcome, and its claim cell (`cells` null: it has none, and cannot be taken back). One object and
 * one map entry a chunk: many tiny tasks go through here.
 */
interface Held {
  readonly record: ChunkRecord;
  readonly sent: Sent;
  readonly cells: Int32Array | null;
  readonly index: number;
  /**
   * The last of the worker's own claim cells, counted from the first (see ClaimRing), that the worker has
   * passed once this chunk reports: its own cell, or for a chunk sent without one, the last given out before
   * it (chunks are reached in the order sent); -1: none.
   */
  readonly passes: number;
}

/** Why the executor itself stopped a worker: which its other chunks are told. */
export interface StopReason {
  kind: WorkerEnd;
  reason: string;
}

/** What a worker said on its way out: the chunk it was running, and what it threw, if it threw. */
export interface LastWords {
  running: number | null;
  reason: unknown;
}

/**
 * A worker's life, as one value. It starts, becomes ready once its initializer has run (work sent before
 * that queues behind it), and once anything ends it (the pool stopping it gracefully or killing it, or the
 * worker saying on its way out that it is going) it is stopping until it exits. Whether it is busy is not a
 * phase: it is whether batches still owe outcomes. Only the methods of Slot change it.
 */
export type SlotPhase =
  | { readonly name: 'starting' }
  | { readonly name: 'ready' }
  | {
      readonly name: 'stopping';
      /** Whether it had run its initializer. */
      ready: boolean;
      /** Set when the executor stopped it. */
      stopped: StopReason | null;
      /** Whether it was killed (a graceful 'stop' is not a kill: terminate() still kills such a worker). */
      killed: boolean;
      /** Set when the worker said, on its way out, which chunk it was running. */
      lastWords: LastWords | null;
    };

type Stopping = Extract<SlotPhase, { name: 'stopping' }>;

const STARTING: SlotPhase = { name: 'starting' };
const READY: SlotPhase = { name: 'ready' };

/** In Slot.knownFns: the chunk that brought a function was taken back; the next one reported loaded it. */
const LOADS_NEXT = -1;

export class Slot {
  readonly id: number;
  handle!: WorkerHandle;
  #phase: SlotPhase = STARTING;
  /** The chunks it holds, by id, in the order sent. */
  readonly #held = new Map<number, Held>();
  /** The batches still owing outcomes, oldest first: at most two (one running, one prefetched). */
  readonly batches: Sent[] = [];
  /** Whether a batch in flight carries a timeout: nothing is prefetched behind it. */
  timed = false;
  /** When the worker last reported (or started on an empty queue): the clock for learning chunk cost. */
  lastAt = 0;
  /** The function of the latest batch sent: whose cost the next report teaches. */
  lastFn: number | undefined;
  tasksDone = 0;
  /**
   * The functions sent to this worker, each with the chunk it loads and compiles them for (see loadedFor):
   * the one that brought it, or LOADS_NEXT once that one was taken back.
   */
  readonly knownFns = new Map<number, number>();
  timer: Timer | undefined;
  /** A thread's own claim cells, reused batch after batch (see ClaimRing); null for a process. */
  ring: ClaimRing | null = null;
  /** While the worker is idle beyond the pool's minimum: when it ends, the worker is stopped (idleTimeout). */
  idleTimer: NodeJS.Timeout | undefined;

  constructor(id: number) {
    this.id = id;
  }

  /** Outcomes still owed by every batch in flight. */
  owed(): number {
    let owed = 0;
    for (const sent of this.batches) owed += sent.owed;
    return owed;
  }

  get phase(): SlotPhase {
    return this.#phase;
  }

  /** Whether it has run its initializer (a worker stopping may have, or not). */
  get ready(): boolean {
    const phase = this.#phase;
    return phase.name === 'ready' || (phase.name === 'stopping' && phase.ready);
  }

  /** Not stopping, and owing nothing: it can be sent work. */
  get idle(): boolean {
    return this.#phase.name !== 'stopping' && this.batches.length === 0;
  }

  /** Not stopping, and owing outcomes. */
  get busy(): boolean {
    return this.#phase.name !== 'stopping' && this.batches.length > 0;
  }

  get stopping(): boolean {
    return this.#phase.name === 'stopping';
  }

  /** Why the executor stopped it, if it did. */
  get stopped(): StopReason | null {
    const phase = this.#phase;
    return phase.name === 'stopping' ? phase.stopped : null;
  }

  get killed(): boolean {
    const phase = this.#phase;
    return phase.name === 'stopping' && phase.killed;
  }

  /** What it said on its way out, if it said anything. */
  get lastWords(): LastWords | null {
    const phase = this.#phase;
    return phase.name === 'stopping' ? phase.lastWords : null;
  }

  /** Where the worker is in its life, for stats(). */
  get life(): WorkerState {
    const phase = this.#phase;
    if (phase.name === 'starting') return 'starting';
    if (phase.name === 'stopping') return 'stopping';
    return this.batches.length > 0 ? 'busy' : 'idle';
  }

  /** Stopped for being idle: it is not replaced. */
  get retired(): boolean {
    return this.stopped?.kind === 'idle';
  }

  /** Its initializer has run. */
  markReady(): void {
    const phase = this.#phase;
    if (phase.name === 'stopping') phase.ready = true;
    else this.#phase = READY;
  }

  /** Told to stop once its work is done (the pool is closing, or it was idle too long). */
  stopGracefully(kind: WorkerEnd, reason: string): void {
    this.#stopping().stopped = { kind, reason };
  }

  /** Killed by the executor: the first reason it was stopped for stays. */
  markKilled(kind: WorkerEnd, reason: string): void {
    const phase = this.#stopping();
    phase.stopped ??= { kind, reason };
    phase.killed = true;
  }

  /** It said, on its way out, which chunk it was running. */
  heardLastWords(words: LastWords): void {
    this.#stopping().lastWords = words;
  }

  #stopping(): Stopping {
    const phase = this.#phase;
    if (phase.name === 'stopping') return phase;
    const stopping: Stopping = {
      name: 'stopping',
      ready: phase.name === 'ready',
      stopped: null,
      killed: false,
      lastWords: null,
    };
    this.#phase = stopping;
    return stopping;
  }

  /**
   * Books a batch just sent, with its claim cells if it has them: one per chunk, in order, from index 0 of
   * `cells`, or from the ring's cell `given` (see ClaimRing.take). `movable` says which chunks may be taken back
   * through theirs (all, when not given).
   */
  sent(
    jobs: readonly ChunkRecord[],
    cells: Int32Array | null,
    given: number,
    now: number,
    movable?: (job: ChunkRecord) => boolean,
  ): void {
    this.lastFn = jobs[0]!.fnId;
    if (this.batches.length === 0) this.lastAt = now;
    const sent: Sent = { owed: jobs.length };
    this.batches.push(sent);
    const before = this.ring?.last ?? -1;
    for (let i = 0; i < jobs.length; i++) {
      const record = jobs[i]!;
      const claimable = cells !== null && (!movable || movable(record));
      const at = given < 0 ? i : this.ring!.at(given + i);
      this.#held.set(record.id, {
        record,
        sent,
        cells: claimable ? cells : null,
        index: claimable ? at : -1,
        passes: given < 0 ? before : given + i,
      });
    }
  }

  /** How many chunks it holds: sent, and neither reported nor taken back. */
  get holding(): number {
    return this.#held.size;
  }

  /** The record of a chunk it holds. */
  held(id: number): ChunkRecord | undefined {
    return this.#held.get(id)?.record;
  }

  /** The chunks it holds, in the order sent. */
  heldRecords(): ChunkRecord[] {
    const records: ChunkRecord[] = [];
    for (const held of this.#held.values()) records.push(held.record);
    return records;
  }

  /** Takes a reported chunk off the books: its record, or undefined when it was cancelled meanwhile. */
  reported(id: number): ChunkRecord | undefined {
    const held = this.#held.get(id);
    if (held === undefined) return undefined;
    this.#held.delete(id);
    if (held.passes >= 0) this.ring!.passed(held.passes);
    return held.record;
  }

  /**
   * Takes a chunk the worker may have started off the books without taking it back (it timed out, or was
   * cancelled): its outcome, if one comes, is still paid off its batch, and dropped.
   */
  release(id: number): boolean {
    return this.#held.delete(id);
  }

  /** Takes every chunk off the books (the pool is terminated): their records. */
  releaseAll(): ChunkRecord[] {
    const records = this.heldRecords();
    this.#held.clear();
    return records;
  }

  // Outcomes arrive in the order chunks were sent (cancelled ones that still ran too), so batches are paid
  // off in order. A revoked chunk sends no outcome: revoke() takes it off its batch's count instead.
  /** Pays off batches with `outcomes` outcomes; the worker is idle once it owes nothing. */
  account(outcomes: number): void {
    this.tasksDone += outcomes; // cancelled chunks ran too: they count toward maxtasksperchild
    while (outcomes > 0 && this.batches.length > 0) {
      const first = this.batches[0]!;
      const paid = Math.min(outcomes, first.owed);
      outcomes -= paid;
      first.owed -= paid;
      if (first.owed === 0) this.batches.shift();
    }
    this.#idleIfPaid();
  }

  /** Takes a chunk back if the worker has not started it (it then never runs there); false if it has. */
  revoke(id: number): boolean {
    const held = this.#held.get(id);
    if (held === undefined || held.cells === null || !revoke(held.cells, held.index)) return false;
    this.#held.delete(id);
    const { sent } = held;
    if (--sent.owed === 0) this.batches.splice(this.batches.indexOf(sent), 1);
    const { fnId } = held.record;
    if (this.knownFns.get(fnId) === id) this.knownFns.set(fnId, LOADS_NEXT);
    this.#idleIfPaid();
    return true;
  }

  /**
   * Whether the worker loaded and compiled `fnId` for chunk `id`, which it reported: that chunk's run time
   * says nothing of the next ones. Chunks run in the order sent, so once the chunk that brought the
   * function was taken back, the next one reported loaded it.
   */
  loadedFor(fnId: number, id: number): boolean {
    const loader = this.knownFns.get(fnId);
    if (loader === LOADS_NEXT) this.knownFns.set(fnId, id);
    return loader === id || loader === LOADS_NEXT;
  }

  /** The ids of chunks the worker has not started and that can be taken back, in the order sent. */
  unstarted(): number[] {
    const ids: number[] = [];
    for (const { record, cells, index } of this.#held.values()) {
      if (cells !== null && Atomics.load(cells, index) === Claim.QUEUED) ids.push(record.id);
    }
    return ids;
  }

  /** The chunks it has started and not yet reported: by their claim cells, or else the first it holds without one. */
  started(): ChunkRecord[] {
    const started: ChunkRecord[] = [];
    let uncelled: ChunkRecord | undefined;
    for (const { record, cells, index } of this.#held.values()) {
      if (cells === null) uncelled ??= record;
      else if (Atomics.load(cells, index) === Claim.STARTED) started.push(record);
    }
    if (started.length === 0 && uncelled !== undefined) started.push(uncelled);
    return started;
  }

  /**
   * Empties the books of a worker that is gone: the chunks it never started (by their claim cells, whatever
   * ended it), and the others, which it started or which have no cells, in the order sent.
   */
  clear(): { unstarted: ChunkRecord[]; others: ChunkRecord[] } {
    const unstarted: ChunkRecord[] = [];
    const others: ChunkRecord[] = [];
    for (const { record, cells, index } of this.#held.values()) {
      if (cells !== null && revoke(cells, index)) unstarted.push(record);
      else others.push(record);
    }
    this.#held.clear();
    return { unstarted, others };
  }

  #idleIfPaid(): void {
    if (this.batches.length === 0) {
      this.timer?.clear();
      this.timed = false;
    }
  }
}
