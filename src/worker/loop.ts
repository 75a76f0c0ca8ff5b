// The one worker-side loop, shared by every transport: load the function, run chunks in order, reply in batches.
import { performance } from 'node:perf_hooks';
import { FLUSH_AFTER_MS, HOLD_SLOW_MS, YIELD_AFTER_MS } from '../pace.js';
import { type ChunkOut, Claim, type FnRef, type ToWorker } from '../protocol.js';
import { claim } from '../wire/claim.js';
import { decodeChunks } from '../wire/codec.js';
import { serializeError, type WireError } from '../wire/errors.js';
import { loadFn } from './load.js';
import { Outbox } from './outbox.js';
import type { LoopPort } from './port.js';
import { explain, Runner } from './run.js';
import { isThenable } from './thenable.js';

export type { LoopPort } from './port.js';

export interface LoopOptions {
  /**
   * Whether the loop owns its thread or process: then it reports process.exit() and uncaught exceptions on
   * the way out. Tests that run the loop in-process over a MessageChannel turn this off.
   * @default true
   */
  ownsProcess?: boolean;
}

type Chunk = ChunkOut;

export function startLoop(port: LoopPort, { ownsProcess = true }: LoopOptions = {}): void {
  const refs = new Map<number, FnRef>();
  let queue: Chunk[] = [];
  let head = 0;
  const outbox = new Outbox(port);
  /** Whether the buffer is held behind slow chunks (see HOLD_SLOW_MS). */
  let holding = false;
  /** How long the last chunk ran: the guess at how long the next one will. */
  let lastRunMs = 0;
  let running: number | null = null;
  /** Whether the pump is running: a message that arrives meanwhile only queues its chunks. */
  let pumping = false;
  /**
   * Where the worker is in its life: running its initializer (work that arrives waits), serving, told to stop
   * (it leaves once the pump is done), or going down (it said so to the pool, once).
   */
  let phase: 'starting' | 'serving' | 'stopping' | 'dying' = 'starting';
  /** A thread's own claim cells, from 'init': where most batches' cells are (see ChunkBatch.claimAt). */
  let ownClaims: Int32Array | null = null;

  const flush = (): void => {
    holding = false;
    outbox.flush();
  };
  const runner = new Runner({
    refs,
    beforeWait: flush, // we are about to wait anyway; let finished results go now
    produced: (chunk, settle) => outbox.produced(chunk, settle),
  });

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

  const pump = async (): Promise<void> => {
    // Work may arrive before the initializer has finished: it waits in the queue until then.
    if (pumping || phase === 'starting') return;
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
      if (outbox.posted) {
        // This chunk may end the process: the results already posted must not die with it.
        outbox.posted = false;
        const sending = port.sent!();
        if (sending) await sending;
      }
      const started = performance.now();
      // Results go out before a new batch starts (the pool is waiting on them), or once held long enough.
      // Results held on purpose behind slow chunks stay only for another chunk of a batch sent ahead, and only
      // if, at the last chunk's pace, they would not pass HOLD_SLOW_MS: a chunk cannot be interrupted, so one
      // that runs far longer than the last still delays them until it ends.
      if (outbox.size > 0) {
        const held = started - outbox.since;
        const keep = holding && chunk.hold && held + lastRunMs < HOLD_SLOW_MS;
        if (!keep && (holding || chunk.first || held >= FLUSH_AFTER_MS)) flush();
      }
      running = chunk.id;
      let outcome = runner.run(chunk);
      if (isThenable(outcome)) outcome = await outcome;
      running = null;
      const ended = performance.now();
      endedAt = ended;
      lastRunMs = ended - started;
      outbox.push(outcome, started, ended);
      // A slow chunk's result goes at once, unless the pool sent its batch well ahead and two more chunks
      // wait here: then the pool is not waiting on it to send more work.
      if (ended - started >= FLUSH_AFTER_MS) {
        if (chunk.hold) takeWaiting(2);
        holding = chunk.hold && ended - outbox.since < HOLD_SLOW_MS && waitingLive(2);
        if (!holding) flush();
      }
    }
    queue = [];
    head = 0;
    flush();
    pumping = false;
    if (phase === 'stopping') leave();
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
    if (!port.receive || phase !== 'serving') return waiting() > 0;
    while (waiting() < want && phase === 'serving') {
      const message = port.receive();
      if (message === undefined) break;
      handle(message);
    }
    return waiting() > 0;
  };

  const sayDying = (reason: WireError | null, code: number | null): void => {
    if (phase === 'dying') return;
    phase = 'dying';
    try {
      const { message, transfer } = outbox.lastWords(running, reason, code);
      if (port.postLast) port.postLast(message);
      else port.post(message, transfer);
    } catch {
      // Nothing more can be said; the pool learns of the death from the exit itself.
    }
  };

  // A task that calls process.exit() or throws from a timer takes the worker down; say which chunk it was.
  if (ownsProcess) {
    process.on('exit', (code) => {
      // Chunks still waiting here count too: a task's timer may end the worker between two chunks (the loop
      // lets the event loop turn), and the pool must learn that none of them started. A worker serving work
      // says so even with nothing here: the chunks the pool sent that it has not heard of are then still in
      // the channel, never read, and run elsewhere.
      if (phase === 'serving' || running !== null || outbox.size > 0 || waiting() > 0) sayDying(null, code);
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
      // A worker told to stop while starting has left already (see 'stop').
      if (phase !== 'starting') return;
      phase = 'serving';
      void pump();
    } catch (err) {
      port.post({ type: 'init-failed', error: serializeError(explain(initializer!, err)) }, []);
    }
  };

  function handle(message: ToWorker): void {
    switch (message.type) {
      case 'init':
        ownClaims = message.claims;
        void init(message.initializer, message.initargs);
        return;
      case 'run': {
        for (const [id, ref] of message.fns) refs.set(id, ref);
        decodeChunks(message.batch, (chunk) => queue.push(chunk), ownClaims);
        void pump();
        return;
      }
      case 'stop':
        if (phase === 'dying') return;
        phase = 'stopping';
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
