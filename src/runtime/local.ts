// The executor for one machine: a queue of chunks fed to a fixed set of worker threads or child processes.
import { performance } from 'node:perf_hooks';
import type { TransferListItem } from 'node:worker_threads';
import {
  deserializeError,
  InitializerError,
  TaskTimeoutError,
  type WorkerExit,
  WorkerLostError,
} from '../errors.js';
import type { ChunkJob, ChunkResult, Executor, ExecutorConfig, ExecutorHooks } from '../executor.js';
import {
  type FromWorker,
  Packer,
  type ToWorker,
  transferList,
  unpack,
  unwrapTransfers,
  type WireChunk,
  type WireOutcome,
} from '../protocol.js';
import { findUncloneable } from './clone.js';

/** One worker as a runtime gives it to the local executor: thread or process, the executor cannot tell. */
export interface WorkerHandle {
  send(message: ToWorker, transfer: TransferListItem[]): void;
  /** Stops the worker at once (a process gets SIGTERM, then SIGKILL). */
  kill(): void;
  /** Whether the worker keeps the Node process alive. */
  keepAlive(yes: boolean): void;
}

export interface WorkerEvents {
  message(message: FromWorker): void;
  exit(exit: WorkerExit): void;
}

export type Spawn = (workerId: number, events: WorkerEvents, config: ExecutorConfig) => WorkerHandle;

type SlotState = 'starting' | 'idle' | 'busy' | 'stopping';

interface Slot {
  id: number;
  handle: WorkerHandle;
  state: SlotState;
  inflight: Map<number, ChunkJob>;
  sentAt: number;
  tasksDone: number;
  knownFns: Set<number>;
  timer: NodeJS.Timeout | undefined;
  /** Set when the worker said, on its way out, which chunk it was running. */
  dying: { running: number | null; reason: unknown } | null;
  /** Set when the executor itself stopped the worker: what its other chunks are told. */
  stoppedBecause: string | null;
}

// A batch holds about this much work, so per-message cost is amortised but no worker hoards the queue.
const BATCH_TARGET_MS = 2;
const BATCH_MAX = 1024;
const START_FAILURES_BEFORE_FATAL = 3;

export class LocalExecutor implements Executor {
  readonly size: number;
  readonly #config: ExecutorConfig;
  readonly #hooks: ExecutorHooks;
  readonly #spawn: Spawn;
  readonly #slots = new Set<Slot>();
  #queue: ChunkJob[] = [];
  #head = 0;
  #front: ChunkJob[] = [];
  readonly #chunkMs = new Map<number, number>();
  #nextWorkerId = 1;
  #startFailures = 0;
  #busy = false;
  #state: 'running' | 'closing' | 'stopped' = 'running';
  #allExited: (() => void) | null = null;

  constructor(config: ExecutorConfig, hooks: ExecutorHooks, spawn: Spawn) {
    this.size = config.size;
    this.#config = config;
    this.#hooks = hooks;
    this.#spawn = spawn;
    for (let i = 0; i < config.size; i++) this.#startWorker();
  }

  submit(job: ChunkJob): void {
    this.#queue.push(job);
    this.#setBusy(true);
    this.#dispatch();
  }

  cancel(ids: ReadonlySet<number>, stopRunning: boolean): void {
    this.#queue = this.#queue.slice(this.#head).filter((job) => !ids.has(job.id));
    this.#head = 0;
    this.#front = this.#front.filter((job) => !ids.has(job.id));
    for (const slot of this.#slots) {
      let hit = false;
      for (const id of slot.inflight.keys()) {
        if (ids.has(id)) {
          slot.inflight.delete(id);
          hit = true;
        }
      }
      if (hit && stopRunning && slot.state !== 'stopping')
        this.#stop(slot, 'it was stopped to cancel another task');
    }
    this.#afterProgress();
  }

  close(): Promise<void> {
    if (this.#state === 'stopped') return Promise.resolve();
    this.#state = 'closing';
    const done = this.#whenAllExited();
    this.#afterProgress();
    return done;
  }

  terminate(): Promise<void> {
    const done = this.#whenAllExited();
    this.#state = 'stopped';
    this.#queue = [];
    this.#front = [];
    this.#head = 0;
    for (const slot of this.#slots) {
      slot.inflight.clear();
      if (slot.state !== 'stopping') this.#stop(slot, 'the pool was terminated');
    }
    return done;
  }

  #whenAllExited(): Promise<void> {
    if (this.#slots.size === 0) return Promise.resolve();
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
    const slot: Slot = {
      id,
      handle: undefined as unknown as WorkerHandle,
      state: 'starting',
      inflight: new Map(),
      sentAt: 0,
      tasksDone: 0,
      knownFns: new Set(),
      timer: undefined,
      dying: null,
      stoppedBecause: null,
    };
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
        slot.state = 'idle';
        this.#afterProgress();
        return;
      case 'init-failed':
        this.#hooks.fatal(new InitializerError({ cause: deserializeError(message.error) }));
        return;
      case 'results':
        this.#settleAll(slot, message.results, message.numbers);
        if (message.results.length > 0 && message.busyMs > 0)
          this.#learn(slot, message.results, message.busyMs);
        if (slot.inflight.size === 0 && slot.state === 'busy') {
          clearTimeout(slot.timer);
          slot.state = 'idle';
        }
        this.#afterProgress();
        return;
      case 'dying':
        this.#settleAll(slot, message.results, message.numbers);
        slot.dying = { running: message.running, reason: message.reason && deserializeError(message.reason) };
        return;
      default: {
        const never: never = message;
        throw new Error(`mpool internal: unknown message ${JSON.stringify(never)}`);
      }
    }
  }

  #settleAll(slot: Slot, results: WireOutcome[], numbers: Float64Array | null): void {
    for (const outcome of results) {
      if (!slot.inflight.delete(outcome.id)) continue; // cancelled meanwhile
      slot.tasksDone++;
      this.#hooks.settle(
        outcome.id,
        outcome.ok
          ? { ok: true, values: unpack(outcome.values, numbers) }
          : { ok: false, error: deserializeError(outcome.error) },
      );
    }
  }

  #learn(slot: Slot, results: WireOutcome[], busyMs: number): void {
    const fnId = this.#lastFn.get(slot.id);
    if (fnId === undefined) return;
    const perChunk = busyMs / results.length;
    const old = this.#chunkMs.get(fnId);
    // Believe good news at once (the first chunk pays for compiling and loading), bad news gradually.
    this.#chunkMs.set(fnId, old === undefined || perChunk < old ? perChunk : old * 0.7 + perChunk * 0.3);
  }

  readonly #lastFn = new Map<number, number>();

  #onExit(slot: Slot, exit: WorkerExit): void {
    clearTimeout(slot.timer);
    this.#slots.delete(slot);
    this.#lastFn.delete(slot.id);
    const wasStarting = slot.state === 'starting';
    const lost = [...slot.inflight.values()];
    slot.inflight.clear();
    if (slot.dying) {
      const { running, reason } = slot.dying;
      for (const job of lost) {
        if (job.id === running) {
          const why = reason
            ? `the task threw outside its call: ${describe(reason)}`
            : 'the task ended the worker';
          this.#lose(job, { ...exit, reason: why }, reason ?? undefined);
        } else {
          this.#front.push(job); // it had not started: run it elsewhere
        }
      }
    } else {
      const reason = slot.stoppedBecause ?? exit.reason;
      for (const job of lost) this.#lose(job, { ...exit, reason });
    }
    if (wasStarting && !slot.stoppedBecause && this.#state === 'running') {
      if (++this.#startFailures >= START_FAILURES_BEFORE_FATAL) {
        this.#hooks.fatal(
          new InitializerError({
            cause: new WorkerLostError({ ...exit, reason: `workers die while starting: ${exit.reason}` }),
          }),
        );
      }
    }
    if (this.#state !== 'stopped' && !(this.#state === 'closing' && this.#idle())) this.#startWorker();
    if (this.#slots.size === 0) {
      const resolve = this.#allExited;
      this.#allExited = null;
      resolve?.();
    }
    this.#afterProgress();
  }

  #lose(job: ChunkJob, exit: WorkerExit, cause?: unknown): void {
    if (job.retries > 0) {
      job.retries--;
      this.#front.push(job);
      return;
    }
    this.#hooks.settle(job.id, { ok: false, error: new WorkerLostError(exit, { cause }) });
  }

  #stop(slot: Slot, because: string): void {
    slot.state = 'stopping';
    slot.stoppedBecause = because;
    clearTimeout(slot.timer);
    slot.handle.keepAlive(true);
    slot.handle.kill();
  }

  #idle(): boolean {
    if (this.#head < this.#queue.length || this.#front.length > 0) return false;
    for (const slot of this.#slots) if (slot.inflight.size > 0) return false;
    return true;
  }

  #setBusy(busy: boolean): void {
    if (this.#busy === busy) return;
    this.#busy = busy;
    if (this.#state !== 'running') return;
    for (const slot of this.#slots) slot.handle.keepAlive(busy);
  }

  #afterProgress(): void {
    this.#dispatch();
    const idle = this.#idle();
    if (this.#state === 'closing' && idle) {
      for (const slot of this.#slots) {
        if (slot.state === 'stopping') continue;
        slot.state = 'stopping';
        slot.stoppedBecause = 'the pool was closing';
        slot.handle.keepAlive(true);
        slot.handle.send({ type: 'stop' }, []);
      }
    }
    this.#setBusy(!idle);
  }

  #take(): ChunkJob | undefined {
    if (this.#front.length > 0) return this.#front.shift();
    if (this.#head < this.#queue.length) {
      const job = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as ChunkJob;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      return job;
    }
    return undefined;
  }

  #peek(): ChunkJob | undefined {
    return this.#front[0] ?? this.#queue[this.#head];
  }

  #pending(): number {
    return this.#front.length + this.#queue.length - this.#head;
  }

  #dispatch(): void {
    if (this.#state === 'stopped') return;
    let idleSlots = 0;
    for (const slot of this.#slots) if (slot.state === 'idle') idleSlots++;
    for (const slot of this.#slots) {
      if (slot.state !== 'idle') continue;
      const first = this.#peek();
      if (!first) return;
      const max = this.#config.maxtasksperchild;
      if (max !== null && slot.tasksDone >= max) {
        this.#stop(slot, 'it reached maxtasksperchild');
        continue;
      }
      const perChunk = this.#chunkMs.get(first.fnId);
      let room = perChunk === undefined ? 1 : Math.floor(BATCH_TARGET_MS / Math.max(perChunk, 0.001));
      room = Math.min(room, BATCH_MAX, Math.ceil(this.#pending() / idleSlots));
      if (max !== null) room = Math.min(room, max - slot.tasksDone);
      idleSlots--;
      this.#sendBatch(slot, Math.max(1, room));
    }
  }

  #sendBatch(slot: Slot, room: number): void {
    const jobs: ChunkJob[] = [];
    while (jobs.length < room) {
      const next = this.#peek();
      // A chunk with a timeout travels alone, so its clock starts when it starts.
      if (!next || (jobs.length > 0 && next.timeout !== null)) break;
      jobs.push(this.#take()!);
      if (next.timeout !== null) break;
    }
    const fns: Array<[number, (typeof jobs)[number]['fn']]> = [];
    const chunks: WireChunk[] = [];
    let capacity = 0;
    for (const job of jobs) if (!job.star) capacity += job.items.length;
    const packer = new Packer(capacity);
    const moved: TransferListItem[] = [];
    for (const job of jobs) {
      if (!slot.knownFns.has(job.fnId) && !fns.some(([id]) => id === job.fnId)) fns.push([job.fnId, job.fn]);
      const packed = job.star ? (job.items as unknown[]) : packer.pack(job.items);
      const items = Array.isArray(packed) ? unwrapTransfers(packed, moved) : packed;
      chunks.push({ id: job.id, fn: job.fnId, base: job.base, star: job.star, items });
    }
    const numbers = packer.finish();
    try {
      slot.handle.send({ type: 'run', fns, chunks, numbers }, transferList(numbers, moved));
    } catch (err) {
      this.#sendApart(jobs, err);
      return;
    }
    for (const [id] of fns) slot.knownFns.add(id);
    for (const job of jobs) slot.inflight.set(job.id, job);
    this.#lastFn.set(slot.id, jobs[0]!.fnId);
    slot.state = 'busy';
    slot.sentAt = performance.now();
    const timed = jobs[0]!;
    if (timed.timeout !== null) {
      slot.timer = setTimeout(() => this.#timedOut(slot, timed), timed.timeout);
    }
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
      else this.#front.unshift(jobs[i]!);
    }
    this.#afterProgress();
  }

  #timedOut(slot: Slot, job: ChunkJob): void {
    if (!slot.inflight.delete(job.id)) return;
    this.#hooks.settle(job.id, { ok: false, error: new TaskTimeoutError(job.timeout!) });
    this.#stop(slot, 'it was stopped because another task on it timed out');
  }
}

function describe(reason: unknown): string {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
}

export type { ChunkResult };
