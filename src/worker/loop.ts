// The one worker-side loop, shared by every transport: load the function, run chunks in order, reply in batches.
import { performance } from 'node:perf_hooks';
import type { TransferListItem } from 'node:worker_threads';
import { findTooDeep, TOO_DEEP } from '../depth.js';
import { SerializationError, serializeError, type WireError } from '../errors.js';
import {
  type ChunkOut,
  Claim,
  type FnRef,
  type FromWorker,
  type Outcome,
  type ToWorker,
} from '../protocol.js';
import { claim } from '../wire/claim.js';
import { decodeChunks, encodeOutcomes, transferList } from '../wire/codec.js';
import { isSharedView, sharedResults } from '../wire/shared.js';
import { explainInlineError, type LoadedFn, loadFn } from './load.js';
import { settling, unsendable } from './settle.js';
import { isThenable } from './thenable.js';

/** What a transport gives the loop: a way to post, a way to receive, and a way to end the worker. */
export interface LoopPort {
  post(message: FromWorker, transfer: TransferListItem[]): void;
  onMessage(handler: (message: ToWorker) => void): void;
  /**
   * Takes the next message already waiting, without a turn of the event loop, or returns undefined. Between
   * chunks the loop takes prefetched work this way, which saves a wake-up per chunk. Optional: a transport
   * that cannot do it (a child process's IPC) leaves it out.
   */
  receive?(): ToWorker | undefined;
  exit(code: number): void;
  /**
   * A promise while what the worker's tasks wrote to stdout or stderr has not yet left it, or undefined.
   * Results wait for it, so a task's output is on its way before its result is, and stopping the worker
   * once its results are in loses none of it. Optional: in-process tests leave it out.
   */
  output?(): Promise<void> | undefined;
  /**
   * A promise while messages posted so far are still being written, or undefined. A child's IPC writes are
   * asynchronous and die with it: the loop starts no chunk, which might end the process, before they are out.
   * Optional: a thread's messages survive its exit.
   */
  sent?(): Promise<void> | undefined;
  /**
   * Posts the worker's last message, from inside process.exit(), synchronously. Optional: a transport whose
   * messages survive its exit (a thread's) leaves it out, and `post` is used.
   */
  postLast?(message: FromWorker): void;
}

export interface LoopOptions {
  /**
   * Whether the loop owns its thread or process: then it reports process.exit() and uncaught exceptions on
   * the way out. Tests that run the loop in-process over a MessageChannel turn this off.
   * @default true
   */
  ownsProcess?: boolean;
}

// Results are batched to cut per-task cost, but held no longer than this, so a slow or dying chunk
// that follows fast ones cannot strand their results.
const FLUSH_AFTER_MS = 1;
// Results of slower chunks (a millisecond or more each) from batches the pool sent well ahead are held while
// at least two more chunks wait here, but no longer than this: every message wakes the pool's thread, which
// on a machine with as many workers as cores takes its time from a worker. Before the last waiting chunk
// starts they go, so the pool can send more work while that chunk runs. About one prefetched batch's worth
// (PREFETCH_SLOW_MS in runtime/schedule.ts): an A/B of 200 tasks of 4 ms on 2 workers, 30 rounds each, gave
// 403.0 ms against 405.0 with 20 ms, and the pool's thread went from about 99 wake-ups and 5.2 ms of CPU
// a run to 79 and 4.2.
const HOLD_SLOW_MS = 50;
// Chunks run back to back, and waiting work is taken between them without a turn of the event loop; after
// this long, the loop lets the event loop turn before the next chunk, so a task's own timers still run.
const YIELD_AFTER_MS = 50;

type Chunk = ChunkOut;

// What a task threw is read here too (is it a ReferenceError, what is its message): a throwing getter or
// Proxy must leave it as it is, for serializeError to describe as far as it can.
function explain(ref: FnRef, err: unknown): unknown {
  try {
    return explainInlineError(ref, err);
  } catch {
    return err;
  }
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function startLoop(port: LoopPort, { ownsProcess = true }: LoopOptions = {}): void {
  const refs = new Map<number, FnRef>();
  let queue: Chunk[] = [];
  let head = 0;
  let buffer: Outcome[] = [];
  let bufferSince = 0;
  /** Time spent running the chunks whose outcomes are in the buffer. */
  let bufferMs = 0;
  /** Whether the buffer is held behind slow chunks (see HOLD_SLOW_MS). */
  let holding = false;
  /** How long the last chunk ran: the guess at how long the next one will. */
  let lastRunMs = 0;
  let running: number | null = null;
  let pumping = false;
  let stopping = false;
  let dying = false;
  let initialized = false;
  /** Whether a flush waits for the worker's output to leave (see LoopPort.output). */
  let awaitingOutput = false;
  /** Whether results were posted since the last chunk started (see LoopPort.sent). */
  let posted = false;
  const bases = new Map<number, number>();
  /** Chunks of `settle: true` calls among those whose outcomes are buffered: an unsendable result is its item's. */
  const settled = new Set<number>();

  const send = (outcomes: Outcome[], ms: number): void => {
    const moved: TransferListItem[] = [];
    const batch = encodeOutcomes(outcomes, moved, ms);
    port.post({ type: 'results', batch }, transferList(batch.numbers, moved));
    posted = port.sent !== undefined;
  };

  // Names the exact item whose result cannot be cloned; only runs on that failure path.
  const uncloneable = (outcome: Outcome, err: unknown): Outcome => {
    let index = 0;
    let reason = reasonOf(err);
    if (outcome.ok && settled.has(outcome.id)) {
      // settle: true: only the items whose results cannot go fail, each as its own outcome.
      const base = bases.get(outcome.id) ?? 0;
      const values = Array.from(outcome.values, (value, i) => {
        try {
          structuredClone(value);
          return value;
        } catch (itemErr) {
          return unsendable(base + i, reasonOf(itemErr));
        }
      });
      return { id: outcome.id, ok: true, values };
    }
    if (outcome.ok) {
      for (let i = 0; i < outcome.values.length; i++) {
        try {
          structuredClone(outcome.values[i]);
        } catch (itemErr) {
          index = i;
          reason = reasonOf(itemErr);
          break;
        }
      }
    }
    const error = new SerializationError((bases.get(outcome.id) ?? 0) + index, 'result', reason);
    return { id: outcome.id, ok: false, error: serializeError(error) };
  };

  const flush = (): void => {
    holding = false;
    if (buffer.length === 0 || awaitingOutput) return;
    const output = port.output?.();
    if (output) {
      // The results stay in the buffer meanwhile: should the worker die, sayDying still sends them.
      awaitingOutput = true;
      void output.then(() => {
        awaitingOutput = false;
        flush();
      });
      return;
    }
    const outcomes = buffer;
    const ms = bufferMs;
    buffer = [];
    bufferMs = 0;
    try {
      send(outcomes, ms);
    } catch {
      // One result could not be cloned: send them one by one so the others still arrive.
      for (const outcome of outcomes) {
        try {
          send([outcome], 0);
        } catch (err) {
          send([uncloneable(outcome, err)], 0);
        }
      }
    }
    bases.clear();
    settled.clear();
  };

  const push = (outcome: Outcome, started: number, now: number): void => {
    if (buffer.length === 0) bufferSince = now;
    buffer.push(outcome);
    bufferMs += now - started;
  };

  // Chunks received but not yet started (some may have been taken back by the pool meanwhile).
  const waiting = (): number => queue.length - head;

  // Whether at least `n` waiting chunks are still this worker's to run: one the pool took back is no reason
  // to hold results. Looks no further than it must.
  const waitingLive = (n: number): boolean => {
    let live = 0;
    for (let i = head; i < queue.length && live < n; i++) {
      const { claims, index } = queue[i]!;
      if (!claims || Atomics.load(claims, index) !== Claim.REVOKED) live++;
    }
    return live >= n;
  };

  const fail = (chunk: Chunk, err: unknown, ref: FnRef | undefined): Outcome => ({
    id: chunk.id,
    ok: false,
    error: serializeError(ref ? explain(ref, err) : err),
  });

  // Runs the items from `start` on, synchronously while results are plain values; an async result
  // switches to the awaiting path for the rest of the chunk.
  const runFrom = (
    chunk: Chunk,
    fn: LoadedFn,
    ref: FnRef,
    values: unknown[],
    start: number,
  ): Outcome | Promise<Outcome> => {
    const { items, star } = chunk;
    const n = items.length;
    try {
      for (let i = start; i < n; i++) {
        const value = star ? fn(...(items[i] as unknown[])) : fn(items[i]);
        if (isThenable(value)) return awaitFrom(chunk, fn, ref, values, i, value);
        values[i] = value;
      }
    } catch (err) {
      return fail(chunk, err, ref);
    }
    const deep = findTooDeep(values);
    if (deep >= 0) {
      return {
        id: chunk.id,
        ok: false,
        error: serializeError(new SerializationError(chunk.base + deep, 'result', TOO_DEEP)),
      };
    }
    bases.set(chunk.id, chunk.base);
    if (ref.settle) settled.add(chunk.id);
    return { id: chunk.id, ok: true, values };
  };

  const awaitFrom = async (
    chunk: Chunk,
    fn: LoadedFn,
    ref: FnRef,
    values: unknown[],
    i: number,
    pending: PromiseLike<unknown>,
  ): Promise<Outcome> => {
    flush(); // we are about to wait anyway; let finished results go now
    try {
      values[i] = await pending;
    } catch (err) {
      return fail(chunk, err, ref);
    }
    return runFrom(chunk, fn, ref, values, i + 1);
  };

  // Numbers in, numbers out: a chunk whose items are a view of a shared page writes its results into that
  // page (see sharedResults) until a result is not a number; from there on, the general path takes over.
  const runShared = (chunk: Chunk, fn: LoadedFn, ref: FnRef): Outcome | Promise<Outcome> => {
    const items = chunk.items as Float64Array;
    const out = sharedResults(items);
    const n = items.length;
    try {
      for (let i = 0; i < n; i++) {
        const value = fn(items[i]);
        if (typeof value !== 'number') {
          const values: unknown[] = new Array(n);
          for (let k = 0; k < i; k++) values[k] = out[k];
          if (isThenable(value)) return awaitFrom(chunk, fn, ref, values, i, value);
          values[i] = value;
          return runFrom(chunk, fn, ref, values, i + 1);
        }
        out[i] = value;
      }
    } catch (err) {
      return fail(chunk, err, ref);
    }
    bases.set(chunk.id, chunk.base);
    return { id: chunk.id, ok: true, values: out };
  };

  const runChunk = (chunk: Chunk): Outcome | Promise<Outcome> => {
    const ref = refs.get(chunk.fn);
    if (!ref)
      return fail(chunk, new Error(`mpool internal: function #${chunk.fn} was never sent`), undefined);
    let loaded: LoadedFn | Promise<LoadedFn>;
    try {
      loaded = loadFn(ref);
    } catch (err) {
      return fail(chunk, err, ref);
    }
    const shared = !chunk.star && isSharedView(chunk.items) && !ref.settle;
    const run = (loadedFn: LoadedFn): Outcome | Promise<Outcome> => {
      const fn = ref.settle ? settling(loadedFn, (err) => explain(ref, err)) : loadedFn;
      return shared ? runShared(chunk, fn, ref) : runFrom(chunk, fn, ref, new Array(chunk.items.length), 0);
    };
    if (!isThenable(loaded)) return run(loaded);
    return loaded.then(run, (err: unknown) => fail(chunk, err, ref));
  };

  const pump = async (): Promise<void> => {
    // Work may arrive before the initializer has finished: it waits in the queue until then.
    if (pumping || !initialized) return;
    pumping = true;
    let turnAt = performance.now();
    /** When the last chunk ended: one clock read a chunk serves both the yield below and the next start. */
    let endedAt = turnAt;
    for (;;) {
      if (head >= queue.length) {
        // Results go before waiting work is taken in: copying in a large batch takes a while.
        if (!holding) flush();
        if (!takeWaiting()) break;
      }
      if (endedAt - turnAt >= YIELD_AFTER_MS) {
        // Held results stay held (their own clock, HOLD_SLOW_MS, still runs); messages that arrive meanwhile
        // only queue their chunks, as this pump is still going.
        await new Promise((resolve) => setImmediate(resolve));
        turnAt = endedAt = performance.now();
        continue;
      }
      const chunk = queue[head]!;
      queue[head++] = undefined as unknown as Chunk;
      // The pool took this chunk back for another worker, or cancelled it: it is not ours to run or report.
      if (chunk.claims && !claim(chunk.claims, chunk.index)) continue;
      if (posted) {
        // This chunk may end the process: the results already posted must not die with it.
        posted = false;
        const sending = port.sent!();
        if (sending) await sending;
      }
      const started = performance.now();
      // Results go out before a new batch starts (the pool is waiting on them), or once held long enough.
      // Results held on purpose behind slow chunks stay only for another chunk of a batch sent ahead, and only
      // if, at the last chunk's pace, they would not pass HOLD_SLOW_MS: a chunk cannot be interrupted, so one
      // that runs far longer than the last still delays them until it ends.
      if (buffer.length > 0) {
        const held = started - bufferSince;
        const keep = holding && chunk.hold && held + lastRunMs < HOLD_SLOW_MS;
        if (!keep && (holding || chunk.first || held >= FLUSH_AFTER_MS)) flush();
      }
      running = chunk.id;
      let outcome = runChunk(chunk);
      if (isThenable(outcome)) outcome = await outcome;
      running = null;
      const ended = performance.now();
      endedAt = ended;
      lastRunMs = ended - started;
      push(outcome, started, ended);
      // A slow chunk's result goes at once, unless the pool sent its batch well ahead and two more chunks
      // wait here: then the pool is not waiting on it to send more work.
      if (ended - started >= FLUSH_AFTER_MS) {
        if (chunk.hold) takeWaiting(2);
        holding = chunk.hold && ended - bufferSince < HOLD_SLOW_MS && waitingLive(2);
        if (!holding) flush();
      }
    }
    queue = [];
    head = 0;
    flush();
    pumping = false;
    if (stopping) leave();
  };

  // A worker told to stop leaves once its output has gone, so none of it is lost with it.
  const leave = (): void => {
    const output = port.output?.();
    if (output) void output.then(leave);
    else port.exit(0);
  };

  // Between chunks, work that already waits in the port is taken without a turn of the event loop, until
  // `want` chunks wait here. Returns whether any chunk waits.
  const takeWaiting = (want = 1): boolean => {
    if (!port.receive || stopping) return waiting() > 0;
    while (waiting() < want && !stopping) {
      const message = port.receive();
      if (message === undefined) break;
      handle(message);
    }
    return waiting() > 0;
  };

  const sayDying = (reason: WireError | null, code: number | null): void => {
    if (dying) return;
    dying = true;
    try {
      const moved: TransferListItem[] = [];
      const batch = encodeOutcomes(buffer, moved, bufferMs);
      const message: FromWorker = { type: 'dying', running, batch, reason, code };
      if (port.postLast) port.postLast(message);
      else port.post(message, transferList(batch.numbers, moved));
    } catch {
      // Nothing more can be said; the pool learns of the death from the exit itself.
    }
    buffer = [];
  };

  // A task that calls process.exit() or throws from a timer takes the worker down; say which chunk it was.
  if (ownsProcess) {
    process.on('exit', (code) => {
      // Chunks still waiting here count too: a task's timer may end the worker between two chunks (the loop
      // lets the event loop turn), and the pool must learn that none of them started.
      if (running !== null || buffer.length > 0 || waiting() > 0) sayDying(null, code);
    });
    process.on('uncaughtException', (err) => {
      sayDying(serializeError(err), 1);
      port.exit(1);
    });
  }

  const init = async (initializer: FnRef | null, initargs: unknown[]): Promise<void> => {
    try {
      if (initializer) {
        const loaded = loadFn(initializer);
        const fn = isThenable(loaded) ? await loaded : loaded;
        await fn(...initargs);
      }
      port.post({ type: 'ready' }, []);
      initialized = true;
      void pump();
    } catch (err) {
      port.post({ type: 'init-failed', error: serializeError(explain(initializer!, err)) }, []);
    }
  };

  function handle(message: ToWorker): void {
    switch (message.type) {
      case 'init':
        void init(message.initializer, message.initargs);
        return;
      case 'run': {
        for (const [id, ref] of message.fns) refs.set(id, ref);
        decodeChunks(message.batch, (chunk) => queue.push(chunk));
        void pump();
        return;
      }
      case 'stop':
        stopping = true;
        if (!pumping) leave();
        return;
      default: {
        const never: never = message;
        throw new Error(`mpool internal: unknown message ${JSON.stringify(never)}`);
      }
    }
  }
  port.onMessage(handle);
}
