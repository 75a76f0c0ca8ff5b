import { InitializerError, type WorkerEnd, type WorkerExit, WorkerLostError } from '../errors.js';
import type { ChunkJob, ChunkResult, Executor, ExecutorConfig, ExecutorHooks } from '../executor.js';
import type { PoolStats } from '../insight/stats.js';
import type { FromWorker } from '../protocol.js';
import { ClaimRing } from '../wire/claim.js';
import { deserializeError } from '../wire/errors.js';
import { Backoff } from './backoff.js';
import { Dispatcher } from './dispatch.js';
import { Elastic } from './elastic.js';
import type { WorkerHandle } from './handle.js';
import { Ledger } from './ledger.js';
import { warnLeftBehind } from './left-behind.js';
import { settleBatch, settleLost } from './outcomes.js';
import type { RunQueue } from './queue.js';
import { Slot } from './slot.js';

export interface WorkerEvents {
  message(message: FromWorker): void;
  exit(exit: WorkerExit): void;
}

export type Spawn = (workerId: number, events: WorkerEvents, config: ExecutorConfig) => WorkerHandle;

const START_FAILURES_BEFORE_FATAL = 3;

export class LocalExecutor implements Executor {
  readonly size: number;
  readonly #config: ExecutorConfig;
  readonly #hooks: ExecutorHooks;
  readonly #spawn: Spawn;
  readonly #slots = new Set<Slot>();
  /** Every chunk's record and every worker's counts: where a chunk's state changes, and what stats() reads. */
  readonly #ledger: Ledger;
  /** The queue, and which chunks go to which worker. */
  readonly #dispatcher: Dispatcher;
  readonly #queue: RunQueue;
  /** Grows and shrinks the pool between minSize and size; null when they are equal. */
  readonly #elastic: Elastic | null;
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
    this.#ledger = new Ledger(hooks.pool, hooks.settle);
    this.#dispatcher = new Dispatcher({
      size: this.size,
      config,
      slots: this.#slots,
      ledger: this.#ledger,
      stop: (slot, kind, because) => this.#stop(slot, kind, because),
      dequeued: () => hooks.dequeued?.(),
      afterProgress: () => this.#afterProgress(),
      grow: () => this.#elastic?.grow() ?? false,
    });
    this.#queue = this.#dispatcher.queue;
    this.#elastic =
      config.minSize < config.size
        ? new Elastic({
            config,
            slots: this.#slots,
            running: () => this.#state === 'running',
            waiting: () => this.#queue.size,
            pending: () => this.#respawn.pending,
            startWorker: () => this.#startWorker(),
          })
        : null;
    for (let i = 0; i < config.minSize; i++) this.#startWorker();
  }

  get workers(): number {
    return this.#slots.size;
  }

  submit(job: ChunkJob): void {
    this.#queue.push(this.#ledger.queue(job));
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
      if (slot.idle) idle++;
      else if (slot.holding > 1) behind += slot.holding - 1;
    }
    return this.#queue.size - idle + behind;
  }

  cancel(ids: ReadonlySet<number>, stopRunning: boolean): void {
    for (const record of this.#queue.drop(ids)) this.#ledger.dropped(record);
    for (const slot of this.#slots) {
      let hit = false;
      for (const record of slot.heldRecords()) {
        const { id } = record;
        if (!ids.has(id)) continue;
        this.#ledger.dropped(record);
        // Taken back before it started, it never runs; otherwise it is running, or ran and waits to report.
        if (slot.revoke(id)) continue;
        slot.release(id);
        hit = true;
      }
      if (hit && stopRunning && !slot.killed && this.#onlyCancelled(slot))
        this.#stop(slot, 'cancel', 'it was stopped to cancel another task');
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
    for (const record of slot.heldRecords().reverse())
      if (slot.revoke(record.id)) this.#dispatcher.requeue(record);
    return slot.holding === 0;
  }

  msPerItem(fnId: number): number | undefined {
    return this.#dispatcher.msPerItem(fnId);
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
    for (const record of this.#queue.clear()) this.#ledger.dropped(record);
    for (const slot of this.#slots) {
      for (const record of slot.releaseAll()) this.#ledger.dropped(record);
      if (!slot.killed) this.#stop(slot, 'terminate', 'the pool was terminated');
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

  /** `replaced`: the worker this one stands in for, and what ended it. */
  #startWorker(replaced?: { id: number; kind: WorkerEnd; reason: string }): void {
    const id = this.#nextWorkerId++;
    const slot = new Slot(id);
    slot.handle = this.#spawn(
      id,
      { message: (message) => this.#onMessage(slot, message), exit: (exit) => this.#onExit(slot, exit) },
      this.#config,
    );
    this.#slots.add(slot);
    this.#ledger.workerStarted(id, slot.handle.pid, slot.handle.threadId, replaced);
    slot.handle.keepAlive(this.#busy || this.#state !== 'running');
    // A thread gets claim cells of its own with its first message, for its batches to reuse (see ClaimRing).
    if (slot.handle.sharesMemory) slot.ring = new ClaimRing();
    slot.handle.send(
      {
        type: 'init',
        workerId: id,
        initializer: this.#config.initializer,
        initargs: this.#config.initargs,
        claims: slot.ring?.cells ?? null,
      },
      [],
    );
  }

  #onMessage(slot: Slot, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        this.#startFailures = 0;
        this.#respawn.started();
        slot.markReady();
        this.#ledger.workerReady(slot.id);
        this.#afterProgress(); // exclusive chunks wait for a ready worker
        return;
      case 'init-failed':
        this.#hooks.fatal(new InitializerError({ cause: deserializeError(message.error) }));
        return;
      case 'results': {
        const count = message.batch.ids.length;
        slot.account(count);
        const { fnId, sample } = settleBatch(slot, message.batch, this.#ledger);
        if (count > 0) this.#dispatcher.learn(slot, fnId, count, message.batch.ms, sample);
        this.#afterProgress();
        return;
      }
      case 'dying':
        settleBatch(slot, message.batch, this.#ledger);
        slot.heardLastWords({
          running: message.running,
          reason: message.reason && deserializeError(message.reason),
        });
        return;
      default: {
        const never: never = message;
        throw new Error(`mpool internal: unknown message ${JSON.stringify(never)}`);
      }
    }
  }

  #onExit(slot: Slot, exit: WorkerExit): void {
    const { stopped } = slot;
    if (exit.leftBehind) warnLeftBehind(exit, stopped?.reason ?? null);
    slot.timer?.clear();
    clearTimeout(slot.idleTimer);
    this.#slots.delete(slot);
    const wasStarting = !slot.ready;
    // What its claim cells say it never started runs elsewhere, whatever ended the worker.
    const { unstarted, others: lost } = slot.clear();
    for (const record of unstarted) this.#dispatcher.requeue(record);
    const end = settleLost(slot, exit, lost, this.#ledger, (record) => this.#dispatcher.requeue(record));
    // The worker's own end: a worker left behind is that, whatever it had been stopped for.
    const ended = exit.kind === 'left-behind' ? exit : end;
    const byPool = stopped !== null && stopped.kind !== 'timeout' && stopped.kind !== 'cancel';
    this.#ledger.workerEnded(slot.id, ended.kind, ended.reason, !byPool);
    // A worker killed by a signal while starting was killed from outside: it is replaced, as any lost worker
    // is, after a backoff (backoff.ts). One that exits by itself while starting, time after time, cannot
    // start here: that ends the pool, with what the worker last wrote, since no task will ever run. (An
    // initializer that throws is reported by the worker itself, as InitializerError.)
    if (wasStarting && !stopped && this.#state === 'running' && exit.signal === null) {
      if (++this.#startFailures >= START_FAILURES_BEFORE_FATAL) {
        const last = exit.stderr?.trim().split('\n').slice(-8).join('\n');
        const reason = `workers exit while starting, ${this.#startFailures} in a row: ${exit.reason}${last ? `; the last one wrote:\n${last}` : ''}`;
        this.#hooks.fatal(new WorkerLostError({ ...exit, kind: 'start-failed', reason }));
      }
    }
    // A worker retired for being idle is not replaced: the pool grows again when work waits.
    if (!slot.retired && this.#state !== 'stopped' && !(this.#state === 'closing' && this.#idle())) {
      const replaced = { id: slot.id, kind: ended.kind, reason: ended.reason };
      if (wasStarting && !stopped) this.#respawn.died(() => this.#replace(replaced));
      else this.#startWorker(replaced);
    }
    this.#checkAllExited();
    this.#afterProgress();
  }

  // A replacement whose start-up backoff is over: unless the pool no longer needs it.
  #replace(replaced: { id: number; kind: WorkerEnd; reason: string }): void {
    if (this.#state === 'stopped' || (this.#state === 'closing' && this.#idle())) {
      this.#checkAllExited();
      return;
    }
    this.#startWorker(replaced);
    this.#afterProgress();
  }

  #checkAllExited(): void {
    if (this.#slots.size > 0 || this.#respawn.pending > 0) return;
    const resolve = this.#allExited;
    this.#allExited = null;
    resolve?.();
  }

  #stop(slot: Slot, kind: WorkerEnd, because: string): void {
    slot.markKilled(kind, because);
    slot.timer?.clear();
    slot.handle.keepAlive(true);
    slot.handle.kill();
  }

  #idle(): boolean {
    if (this.#queue.size > 0) return false;
    for (const slot of this.#slots) if (slot.holding > 0) return false;
    return true;
  }

  #setBusy(busy: boolean): void {
    if (this.#busy === busy) return;
    this.#busy = busy;
    this.#respawn.keepAlive(busy);
    if (this.#state !== 'running') return;
    // A worker being stopped holds the process until it is gone (its exit settles what it held).
    for (const slot of this.#slots) slot.handle.keepAlive(busy || slot.stopping);
  }

  #dispatch(): void {
    if (this.#state !== 'stopped') this.#dispatcher.dispatch();
  }

  #afterProgress(): void {
    this.#dispatch();
    if (this.#state === 'running') this.#elastic?.shrinkLater();
    const idle = this.#idle();
    if (this.#state === 'closing' && idle) {
      this.#respawn.clear();
      this.#checkAllExited();
      for (const slot of this.#slots) {
        if (slot.stopping) continue;
        // A worker still starting runs its initializer first, as Python's do: it is told to stop once ready,
        // and join() waits for it.
        slot.handle.keepAlive(true);
        if (!slot.ready) continue;
        slot.stopGracefully('close', 'the pool was closing');
        slot.handle.send({ type: 'stop' }, []);
      }
    }
    this.#setBusy(!idle);
  }

  /** A snapshot of the workers and the chunks (see PoolStats). */
  stats(): Omit<PoolStats, 'runtime'> {
    for (const slot of this.#slots) for (const record of slot.started()) this.#ledger.running(record);
    return this.#ledger.stats((id) => this.#slotById(id)?.life ?? 'stopping');
  }

  #slotById(id: number): Slot | undefined {
    for (const slot of this.#slots) if (slot.id === id) return slot;
    return undefined;
  }
}

export type { ChunkResult };
