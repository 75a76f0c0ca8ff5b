// The executor for one machine: a queue of chunks fed to a fixed set of worker threads or child processes.
import { performance } from 'node:perf_hooks';
import type { TransferListItem } from 'node:worker_threads';
import { findTooDeep, TOO_DEEP } from '../depth.js';
import {
  CHANNEL_CLOSED_EXIT_CODE,
  deserializeError,
  InitializerError,
  SerializationError,
  TaskTimeoutError,
  type WireError,
  type WorkerExit,
  WorkerLostError,
} from '../errors.js';
import type { ChunkJob, ChunkResult, Executor, ExecutorConfig, ExecutorHooks } from '../executor.js';
import type { FnRef, FromWorker, OutcomeBatch } from '../protocol.js';
import { after } from '../timer.js';
import { claimCells } from '../wire/claim.js';
import { decodeOutcomes, encodeChunks, transferList } from '../wire/codec.js';
import { isSharedView, sharedResults } from '../wire/shared.js';
import { hasTransfers } from '../wire/transfer.js';
import { Backoff } from './backoff.js';
import { findUncloneable } from './clone.js';
import { warnLeftBehind } from './left-behind.js';
import { RunQueue } from './queue.js';
import { batchRoom, ChunkCosts, canPrefetch, holdsResults, steady } from './schedule.js';
import { Slot, type WorkerHandle } from './slot.js';

export interface WorkerEvents {
  message(message: FromWorker): void;
  exit(exit: WorkerExit): void;
}

export type Spawn = (workerId: number, events: WorkerEvents, config: ExecutorConfig) => WorkerHandle;

const START_FAILURES_BEFORE_FATAL = 3;
const NO_VALUES: readonly unknown[] = [];

export class LocalExecutor implements Executor {
  readonly size: number;
  readonly #config: ExecutorConfig;
  readonly #hooks: ExecutorHooks;
  readonly #spawn: Spawn;
  readonly #slots = new Set<Slot>();
  readonly #queue = new RunQueue();
  /** Per-function chunk costs: batch sizes follow them, and prefetching waits for a steady estimate. */
  readonly #costs = new ChunkCosts();
  /** Functions whose chunks moved buffers with transfer(): a worker's unstarted ones cannot be taken back. */
  readonly #moves = new Set<number>();
  /** Replacements for workers that died while starting wait longer the more such deaths in a row. */
  readonly #respawn = new Backoff();
  #nextWorkerId = 1;
  #startFailures = 0;
  #busy = false;
  #dispatchQueued = false;
  #state: 'running' | 'closing' | 'stopped' = 'running';
  #allExited: (() => void) | null = null;

  constructor(config: ExecutorConfig, hooks: ExecutorHooks, spawn: Spawn) {
    this.size = config.size;
    this.#config = config;
    this.#hooks = hooks;
    this.#spawn = spawn;
    for (let i = 0; i < config.minSize; i++) this.#startWorker();
  }

  get workers(): number {
    return this.#slots.size;
  }

  /** Whether the pool grows and shrinks between minSize and size. */
  get #elastic(): boolean {
    return this.#config.minSize < this.size;
  }

  /** Starts workers while chunks wait that no worker can take, up to `size`. */
  #grow(): boolean {
    let grew = false;
    while (
      this.#state === 'running' &&
      this.#queue.size > 0 &&
      this.#slots.size + this.#respawn.pending < this.size
    ) {
      for (const slot of this.#slots) if (slot.state === 'idle') return grew;
      this.#startWorker();
      grew = true;
    }
    return grew;
  }

  /** Gives each worker beyond minSize that has nothing to do a timer; one idle that long is stopped. */
  #shrinkLater(): void {
    for (const slot of this.#slots) {
      const idle = slot.state === 'idle' && slot.ready && slot.inflight.size === 0;
      if (!idle) {
        clearTimeout(slot.idleTimer);
        slot.idleTimer = undefined;
        continue;
      }
      if (slot.idleTimer) continue;
      slot.idleTimer = setTimeout(() => this.#retire(slot), this.#config.idleTimeout);
      slot.idleTimer.unref();
    }
  }

  #retire(slot: Slot): void {
    slot.idleTimer = undefined;
    const idle = slot.state === 'idle' && slot.inflight.size === 0 && this.#slots.has(slot);
    if (!idle || this.#state !== 'running') return;
    // Workers idle since the same moment time out together: count those not already on their way out.
    let staying = 0;
    for (const other of this.#slots) if (!other.retired) staying++;
    if (staying <= this.#config.minSize) return;
    slot.retired = true;
    slot.state = 'stopping';
    slot.stoppedBecause = "it was idle beyond the pool's minProcesses";
    slot.handle.send({ type: 'stop' }, []);
  }

  submit(job: ChunkJob): void {
    this.#queue.push(job);
    this.#setBusy(true);
    // Dispatch once the caller's synchronous burst of submits is done, so it goes out in full batches.
    if (!this.#dispatchQueued) {
      this.#dispatchQueued = true;
      queueMicrotask(() => {
        this.#dispatchQueued = false;
        this.#dispatch();
      });
    }
  }

  get queued(): number {
    // An idle worker takes the next chunk at the coming dispatch; a busy one holds some behind the one it runs.
    let idle = 0;
    let behind = 0;
    for (const slot of this.#slots) {
      if (slot.state === 'idle') idle++;
      else if (slot.inflight.size > 1) behind += slot.inflight.size - 1;
    }
    return this.#queue.size - idle + behind;
  }

  cancel(ids: ReadonlySet<number>, stopRunning: boolean): void {
    this.#queue.drop(ids);
    for (const slot of this.#slots) {
      let hit = false;
      for (const id of slot.inflight.keys()) {
        if (!ids.has(id)) continue;
        // Taken back before it started, it never runs; otherwise it is running, or ran and waits to report.
        if (slot.revoke(id)) continue;
        slot.inflight.delete(id);
        hit = true;
      }
      if (hit && stopRunning && !slot.killed && this.#onlyCancelled(slot))
        this.#stop(slot, 'it was stopped to cancel another task');
    }
    this.#afterProgress();
  }

  /**
   * Whether stopping the worker would take nothing from other calls: what else it holds must be unstarted,
   * and is then taken back to run elsewhere. A worker that has started another call's chunk (a child process
   * holds its batch beyond recall) is left running; the cancelled chunk's result is then dropped.
   */
  #onlyCancelled(slot: Slot): boolean {
    // Last first, so that pushFront leaves them in the order they were sent.
    for (const [id, job] of [...slot.inflight].reverse()) if (slot.revoke(id)) this.#queue.pushFront(job);
    return slot.inflight.size === 0;
  }

  msPerItem(fnId: number): number | undefined {
    return this.#costs.msPerItem(fnId);
  }

  close(): Promise<void> {
    if (this.#state === 'stopped') return Promise.resolve();
    this.#state = 'closing';
    const done = this.#whenAllExited();
    this.#afterProgress();
    return done;
  }

  terminate(): Promise<void> {
    this.#respawn.clear();
    const done = this.#whenAllExited();
    this.#state = 'stopped';
    this.#queue.clear();
    for (const slot of this.#slots) {
      slot.inflight.clear();
      if (!slot.killed) this.#stop(slot, 'the pool was terminated');
    }
    return done;
  }

  #whenAllExited(): Promise<void> {
    if (this.#slots.size === 0 && this.#respawn.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#allExited;
      this.#allExited = () => {
        previous?.();
        resolve();
      };
    });
  }

  #startWorker(): void {
    const id = this.#nextWorkerId++;
    const slot = new Slot(id);
    slot.handle = this.#spawn(
      id,
      { message: (message) => this.#onMessage(slot, message), exit: (exit) => this.#onExit(slot, exit) },
      this.#config,
    );
    this.#slots.add(slot);
    slot.handle.keepAlive(this.#busy || this.#state !== 'running');
    slot.handle.send(
      { type: 'init', workerId: id, initializer: this.#config.initializer, initargs: this.#config.initargs },
      [],
    );
  }

  #onMessage(slot: Slot, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        this.#startFailures = 0;
        this.#respawn.started();
        slot.ready = true;
        this.#afterProgress(); // exclusive chunks wait for a ready worker
        return;
      case 'init-failed':
        this.#hooks.fatal(new InitializerError({ cause: deserializeError(message.error) }));
        return;
      case 'results': {
        const count = message.batch.ids.length;
        slot.account(count);
        const { items, fnId } = this.#settleAll(slot, message.batch);
        if (count > 0) this.#learn(slot, fnId, count, items, message.batch.ms);
        this.#afterProgress();
        return;
      }
      case 'dying':
        this.#settleAll(slot, message.batch);
        slot.dying = { running: message.running, reason: message.reason && deserializeError(message.reason) };
        return;
      default: {
        const never: never = message;
        throw new Error(`mpool internal: unknown message ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Settles every outcome of a batch. Returns how many items the chunks it settled held, and their function:
   * when they were of several, the one with the most chunks (undefined when none was still known).
   */
  #settleAll(slot: Slot, batch: OutcomeBatch): { items: number; fnId: number | undefined } {
    let items = 0;
    let fnId: number | undefined;
    let chunks = 0;
    /** Chunks per function, once they differ. */
    let mixed: Map<number, number> | undefined;
    decodeOutcomes(
      batch,
      (id, ok, valuesOrError) => {
        const job = slot.reported(id);
        if (!job) return; // cancelled meanwhile
        items += job.items.length;
        fnId ??= job.fnId;
        if (job.fnId !== fnId) mixed ??= new Map([[fnId, chunks]]);
        if (mixed) mixed.set(job.fnId, (mixed.get(job.fnId) ?? 0) + 1);
        chunks++;
        this.#hooks.settle(
          id,
          ok
            ? { ok: true, values: valuesOrError as ArrayLike<unknown> }
            : { ok: false, error: deserializeError(valuesOrError as WireError) },
        );
      },
      (id) => {
        const sent = slot.inflight.get(id)?.items;
        return sent && isSharedView(sent) ? sharedResults(sent) : NO_VALUES;
      },
    );
    if (mixed) for (const [id, count] of mixed) if (count > mixed.get(fnId!)!) fnId = id;
    return { items, fnId };
  }

  /**
   * When the queue has run dry, gives each idle worker half of the unstarted chunks of the worker that has
   * the most, taken back through their claim cells (threads only): the end of a long run of slow chunks then
   * balances without the pool handing out ever smaller batches.
   */
  #steal(): void {
    const max = this.#config.maxtasksperchild;
    for (const thief of this.#slots) {
      if (thief.state !== 'idle' || !thief.ready) continue;
      const room = max === null ? Number.POSITIVE_INFINITY : max - thief.tasksDone;
      if (room <= 0) continue;
      let victim: Slot | undefined;
      let unstarted: number[] = [];
      for (const slot of this.#slots) {
        if (slot === thief || slot.state !== 'busy') continue;
        const ids = slot.unstarted();
        // A worker that has started nothing it holds is about to start its first: taking that one would only
        // pass a lone chunk on from one idle worker to the next. The ones behind it wait on it, so they go.
        if (ids.length === slot.inflight.size) ids.shift();
        if (ids.length > unstarted.length) [victim, unstarted] = [slot, ids];
      }
      if (!victim) return;
      const want = Math.min(room, Math.ceil(unstarted.length / 2));
      const taken: ChunkJob[] = [];
      // From the end, where the victim is furthest from starting; it starts them in order, so a chunk it has
      // claimed meanwhile means every one before it is claimed too. A batch takes chunks of one function only
      // (see #sendBatch), so this one takes those of the last chunk's.
      for (let k = unstarted.length - 1; k >= 0 && taken.length < want; k--) {
        const id = unstarted[k]!;
        const job = victim.inflight.get(id)!;
        if (job.fnId !== (taken[0] ?? job).fnId || !victim.revoke(id)) break;
        taken.push(job);
      }
      if (taken.length === 0) continue;
      for (let k = taken.length - 1; k >= 0; k--) this.#queue.pushFront(taken[k]!);
      this.#sendBatch(thief, taken.length, holdsResults(this.#costs, taken[0]!.fnId));
    }
  }

  // Cost per chunk as the pool sees it (time since the worker last reported, copying included), and per item
  // as the worker measured it (`workerMs`), credited to the function whose chunks reported (the latest batch
  // sent may be of another). Cancelled chunks count as chunks but not as items: their items are no longer
  // known here.
  #learn(slot: Slot, fnId: number | undefined, count: number, items: number, workerMs: number): void {
    const now = performance.now();
    const busyMs = now - slot.lastAt;
    slot.lastAt = now;
    if (fnId === undefined) return;
    this.#costs.learn(fnId, busyMs / count, count, workerMs, items);
  }

  #onExit(slot: Slot, exit: WorkerExit): void {
    if (exit.leftBehind) warnLeftBehind(exit, slot.stoppedBecause);
    slot.timer?.clear();
    clearTimeout(slot.idleTimer);
    this.#slots.delete(slot);
    const wasStarting = !slot.ready;
    // What its claim cells say it never started runs elsewhere, whatever ended the worker.
    const { unstarted, others: lost } = slot.clear();
    for (const job of unstarted) this.#queue.pushFront(job);
    if (slot.dying) {
      const { running, reason } = slot.dying;
      for (const job of lost) {
        if (job.id === running) {
          const why = reason
            ? `the task threw outside its call: ${describe(reason)}`
            : exit.exitCode === CHANNEL_CLOSED_EXIT_CODE
              ? exit.reason
              : 'the task ended the worker';
          this.#lose(slot, job, { ...exit, reason: why }, reason ?? undefined);
        } else {
          this.#runElsewhere(slot, job, exit); // it had not started
        }
      }
    } else if (wasStarting && !slot.stoppedBecause) {
      // The worker died before its initializer finished, so none of its chunks ran: run them elsewhere.
      // (Repeated self-exits become fatal below, and replacements back off, so this cannot spin.)
      for (const job of lost) this.#runElsewhere(slot, job, exit);
    } else {
      const reason = slot.stoppedBecause ?? exit.reason;
      for (const job of lost) this.#lose(slot, job, { ...exit, reason });
    }
    // A worker killed by a signal while starting was killed from outside: it is replaced, as any lost worker
    // is, after a backoff (backoff.ts). One that exits by itself while starting, time after time, cannot
    // start here: that ends the pool, with what the worker last wrote, since no task will ever run. (An
    // initializer that throws is reported by the worker itself, as InitializerError.)
    if (wasStarting && !slot.stoppedBecause && this.#state === 'running' && exit.signal === null) {
      if (++this.#startFailures >= START_FAILURES_BEFORE_FATAL) {
        const last = exit.stderr?.trim().split('\n').slice(-8).join('\n');
        const reason = `workers exit while starting, ${this.#startFailures} in a row: ${exit.reason}${last ? `; the last one wrote:\n${last}` : ''}`;
        this.#hooks.fatal(new WorkerLostError({ ...exit, reason }));
      }
    }
    // A worker retired for being idle is not replaced: the pool grows again when work waits.
    if (!slot.retired && this.#state !== 'stopped' && !(this.#state === 'closing' && this.#idle())) {
      if (wasStarting && !slot.stoppedBecause) this.#respawn.died(() => this.#replace());
      else this.#startWorker();
    }
    this.#checkAllExited();
    this.#afterProgress();
  }

  // A replacement whose start-up backoff is over: unless the pool no longer needs it.
  #replace(): void {
    if (this.#state === 'stopped' || (this.#state === 'closing' && this.#idle())) {
      this.#checkAllExited();
      return;
    }
    this.#startWorker();
    this.#afterProgress();
  }

  #checkAllExited(): void {
    if (this.#slots.size > 0 || this.#respawn.pending > 0) return;
    const resolve = this.#allExited;
    this.#allExited = null;
    resolve?.();
  }

  #lose(slot: Slot, job: ChunkJob, exit: WorkerExit, cause?: unknown): void {
    if (job.retries > 0) {
      job.retries--;
      this.#runElsewhere(slot, job, exit, cause);
      return;
    }
    this.#hooks.settle(job.id, { ok: false, error: new WorkerLostError(exit, { cause }) });
  }

  // A chunk's buffers moved with transfer() went to the lost thread: sent again, they would arrive detached
  // (a typed array then cannot even be read there), so such a chunk fails instead of running again.
  #runElsewhere(slot: Slot, job: ChunkJob, exit: WorkerExit, cause?: unknown): void {
    if (!slot.handle.sharesMemory || !hasTransfers(job.items)) {
      this.#queue.pushFront(job);
      return;
    }
    const reason = `${exit.reason}; the buffers its arguments moved with transfer() were lost with it`;
    this.#hooks.settle(job.id, { ok: false, error: new WorkerLostError({ ...exit, reason }, { cause }) });
  }

  #stop(slot: Slot, because: string): void {
    slot.state = 'stopping';
    slot.stoppedBecause ??= because;
    slot.killed = true;
    slot.timer?.clear();
    slot.handle.keepAlive(true);
    slot.handle.kill();
  }

  #idle(): boolean {
    if (this.#queue.size > 0) return false;
    for (const slot of this.#slots) if (slot.inflight.size > 0) return false;
    return true;
  }

  #setBusy(busy: boolean): void {
    if (this.#busy === busy) return;
    this.#busy = busy;
    this.#respawn.keepAlive(busy);
    if (this.#state !== 'running') return;
    // A worker being stopped holds the process until it is gone (its exit settles what it held).
    for (const slot of this.#slots) slot.handle.keepAlive(busy || slot.state === 'stopping');
  }

  #afterProgress(): void {
    this.#dispatch();
    if (this.#elastic && this.#state === 'running') this.#shrinkLater();
    const idle = this.#idle();
    if (this.#state === 'closing' && idle) {
      this.#respawn.clear();
      this.#checkAllExited();
      for (const slot of this.#slots) {
        if (slot.state === 'stopping') continue;
        // A worker still starting runs its initializer first, as Python's do: it is told to stop once ready,
        // and join() waits for it.
        slot.handle.keepAlive(true);
        if (!slot.ready) continue;
        slot.state = 'stopping';
        slot.stoppedBecause = 'the pool was closing';
        slot.handle.send({ type: 'stop' }, []);
      }
    }
    this.#setBusy(!idle);
  }

  #dispatch(): void {
    if (this.#state === 'stopped') return;
    // Idle workers first; then a second batch for busy ones, so they never wait a round trip between batches.
    for (const prefetch of [false, true]) {
      // Only while every worker is busy: a worker that is idle, starting or about to be replaced takes the
      // next chunk itself, rather than have it wait behind a chunk that may wait for it (a process cannot
      // give back what it was sent, and a thread's waits for an event that lets another take it back).
      if (prefetch && !this.#allBusy()) break;
      // A thread's unstarted chunks can be taken back, so the threads this pass serves split what was queued
      // when it began evenly, rather than each taking a share of what the ones before it left.
      const queuedAtStart = this.#queue.size;
      const head = this.#queue.peek();
      if (!head) break;
      let served = 0;
      for (const slot of this.#slots) {
        if (prefetch ? this.#canPrefetch(slot, head, true) : slot.state === 'idle') served++;
      }
      for (const slot of this.#slots) {
        const first = this.#queue.peek();
        if (!first) break;
        const robbable = slot.handle.sharesMemory && !this.#moves.has(first.fnId);
        if (prefetch ? !this.#canPrefetch(slot, first, robbable) : slot.state !== 'idle') continue;
        // An exclusive chunk's timeout counts from its start, so it waits for a worker past its initializer.
        if (first.exclusive && !slot.ready) continue;
        const max = this.#config.maxtasksperchild;
        const owed = slot.owed();
        if (max !== null && slot.tasksDone + owed >= max) {
          if (owed === 0) this.#stop(slot, 'it reached maxtasksperchild');
          continue;
        }
        const queued = robbable ? queuedAtStart : this.#queue.size;
        const ahead = prefetch || (robbable && steady(this.#costs, first, this.size));
        const workers = this.#slots.size;
        let { room, deep } = batchRoom(this.#costs, first, queued, workers, ahead, robbable, served);
        if (max !== null) room = Math.min(room, max - slot.tasksDone - owed);
        this.#sendBatch(slot, room, deep);
      }
    }
    if (this.#queue.size === 0) this.#steal();
    // What still waits with no worker free starts workers, up to `size`; they take it at once.
    else if (this.#elastic && this.#grow()) this.#dispatch();
  }

  #allBusy(): boolean {
    let busy = 0;
    for (const slot of this.#slots) if (slot.state === 'busy') busy++;
    return busy >= this.size;
  }

  #canPrefetch(slot: Slot, next: ChunkJob, robbable: boolean): boolean {
    return (
      slot.state === 'busy' && canPrefetch(this.#costs, slot, next, this.size, performance.now(), robbable)
    );
  }

  /** `deep`: the batch goes well ahead of need (see batchRoom), so its results may be held. */
  #sendBatch(slot: Slot, room: number, deep: boolean): void {
    const jobs: ChunkJob[] = [];
    while (jobs.length < room) {
      const next = this.#queue.peek();
      // An exclusive chunk (timeout or abortable) travels alone: its clock starts when it starts, and stopping
      // its worker stops nothing else.
      if (!next || (jobs.length > 0 && next.exclusive)) break;
      // A batch sent deep ahead was sized for its first function's chunks: it takes no others.
      if (deep && jobs.length > 0 && next.fnId !== jobs[0]!.fnId) break;
      const job = this.#queue.take()!;
      if (!slot.handle.readsAnyDepth && this.#refusedTooDeep(job)) continue;
      jobs.push(job);
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
    const cells = slot.handle.sharesMemory && !jobs[0]!.exclusive ? claimCells(jobs.length) : null;
    try {
      const batch = encodeChunks(jobs, moved, slot.handle.sharesMemory, deep, cells);
      slot.handle.send({ type: 'run', fns, batch }, transferList(batch.numbers, moved));
    } catch (err) {
      this.#sendApart(jobs, err);
      return;
    }
    for (const [id] of fns) slot.knownFns.add(id);
    // A chunk whose buffers moved with transfer() left them with this thread: it could not be sent again
    // whole, so it is never taken back, and its function is no longer scheduled as if it could be.
    let movable: ((job: ChunkJob) => boolean) | undefined;
    if (moved.length > 0) {
      movable = (job) => !hasTransfers(job.items);
      this.#moves.add(jobs[0]!.fnId);
    }
    slot.sent(jobs, cells, performance.now(), movable);
    this.#hooks.dequeued?.();
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
  #refusedTooDeep(job: ChunkJob): boolean {
    const deep = findTooDeep(job.items);
    if (deep < 0) return false;
    this.#hooks.settle(job.id, {
      ok: false,
      error: new SerializationError(job.base + deep, 'argument', TOO_DEEP),
    });
    return true;
  }

  // A batch could not be cloned: fail exactly the chunks whose items cannot cross, and run the rest.
  #sendApart(jobs: ChunkJob[], err: unknown): void {
    const bad = jobs.map((job) => findUncloneable(job.items, job.base));
    if (bad.every((e) => e === null)) {
      // Every item clones on its own, so the message itself could not go: fail the batch rather than loop.
      for (const job of jobs) this.#hooks.settle(job.id, { ok: false, error: err });
      return;
    }
    for (let i = jobs.length - 1; i >= 0; i--) {
      const error = bad[i];
      if (error) this.#hooks.settle(jobs[i]!.id, { ok: false, error });
      else this.#queue.putBack(jobs[i]!);
    }
    this.#afterProgress();
  }

  #timedOut(slot: Slot, job: ChunkJob): void {
    // Even if the chunk was cancelled meanwhile, its worker is still running it: stop the worker all the same.
    if (slot.inflight.delete(job.id)) {
      this.#hooks.settle(job.id, { ok: false, error: new TaskTimeoutError(job.timeout!) });
    }
    if (!slot.killed) this.#stop(slot, 'it was stopped because another task on it timed out');
  }
}

function describe(reason: unknown): string {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
}

export type { ChunkResult };
