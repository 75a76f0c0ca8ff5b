// The one worker-side loop, shared by every transport: load the function, run chunks in order, reply in batches.
import { performance } from 'node:perf_hooks';
import { SerializationError, serializeError, type WireError } from '../errors.js';
import {
  type FnRef,
  type FromWorker,
  packItems,
  type ToWorker,
  transferOf,
  type WireChunk,
  type WireOutcome,
} from '../protocol.js';
import { explainInlineError, type LoadedFn, loadFn } from './load.js';

/** What a transport gives the loop: a way to post, a way to receive, and a way to end the worker. */
export interface LoopPort {
  post(message: FromWorker, transfer: ArrayBuffer[]): void;
  onMessage(handler: (message: ToWorker) => void): void;
  exit(code: number): void;
}

// Results are batched to cut per-task cost, but held no longer than this, so a slow or dying chunk
// that follows fast ones cannot strand their results.
const FLUSH_AFTER_MS = 1;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export interface LoopOptions {
  /**
   * Whether the loop owns its thread or process: then it reports process.exit() and uncaught exceptions on
   * the way out. Tests that run the loop in-process over a MessageChannel turn this off.
   * @default true
   */
  ownsProcess?: boolean;
}

export function startLoop(port: LoopPort, { ownsProcess = true }: LoopOptions = {}): void {
  const refs = new Map<number, FnRef>();
  const queue: WireChunk[] = [];
  let head = 0;
  let buffer: WireOutcome[] = [];
  let bufferSince = 0;
  let busySince = 0;
  let running: number | null = null;
  let pumping = false;
  let stopping = false;
  let dying = false;

  const post = (message: FromWorker): void => {
    const transfer: ArrayBuffer[] = [];
    if (message.type === 'results' || message.type === 'dying') {
      for (const r of message.results) if (r.ok) transferOf(r.values, transfer);
    }
    port.post(message, transfer);
  };

  const flush = (): void => {
    if (buffer.length === 0) return;
    const results = buffer;
    const now = performance.now();
    const busyMs = now - busySince;
    buffer = [];
    busySince = now;
    try {
      post({ type: 'results', results, busyMs });
    } catch {
      // One result could not be cloned: send them one by one so the others still arrive.
      for (const r of results) {
        try {
          post({ type: 'results', results: [r], busyMs: 0 });
        } catch (err) {
          post({ type: 'results', results: [uncloneable(r, err)], busyMs: 0 });
        }
      }
    }
  };

  const chunkBase = new Map<number, number>();
  // Names the exact item whose result cannot be cloned; only runs on that failure path.
  const uncloneable = (outcome: WireOutcome, err: unknown): WireOutcome => {
    let index = 0;
    let reason = err instanceof Error ? err.message : String(err);
    if (outcome.ok) {
      for (let i = 0; i < outcome.values.length; i++) {
        try {
          structuredClone(outcome.values[i]);
        } catch (itemErr) {
          index = i;
          reason = itemErr instanceof Error ? itemErr.message : String(itemErr);
          break;
        }
      }
    }
    const error = new SerializationError((chunkBase.get(outcome.id) ?? 0) + index, 'result', reason);
    return { id: outcome.id, ok: false, error: serializeError(error) };
  };

  const push = (outcome: WireOutcome): void => {
    if (buffer.length === 0) bufferSince = performance.now();
    buffer.push(outcome);
  };

  const fail = (chunk: WireChunk, err: unknown, ref: FnRef | undefined): WireOutcome => ({
    id: chunk.id,
    ok: false,
    error: serializeError(ref ? explainInlineError(ref, err) : err),
  });

  const runChunk = async (chunk: WireChunk): Promise<WireOutcome> => {
    const ref = refs.get(chunk.fn);
    let fn: LoadedFn;
    try {
      if (!ref) throw new Error(`mpool internal: function #${chunk.fn} was never sent to this worker`);
      const loaded = loadFn(ref);
      fn = isThenable(loaded) ? await loaded : loaded;
    } catch (err) {
      return fail(chunk, err, ref);
    }
    const { items, star } = chunk;
    const n = items.length;
    const values: unknown[] = new Array(n);
    try {
      for (let i = 0; i < n; i++) {
        let value = star ? fn(...(items[i] as unknown[])) : fn(items[i]);
        if (isThenable(value)) {
          flush(); // we are about to wait anyway; let finished results go now
          value = await value;
        }
        values[i] = value;
      }
    } catch (err) {
      return fail(chunk, err, ref);
    }
    chunkBase.set(chunk.id, chunk.base);
    return { id: chunk.id, ok: true, values: packItems(values) };
  };

  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    busySince = performance.now();
    while (head < queue.length) {
      const chunk = queue[head]!;
      queue[head++] = undefined as unknown as WireChunk;
      if (buffer.length > 0 && performance.now() - bufferSince >= FLUSH_AFTER_MS) flush();
      running = chunk.id;
      const outcome = await runChunk(chunk);
      running = null;
      push(outcome);
    }
    queue.length = 0;
    head = 0;
    flush();
    chunkBase.clear();
    pumping = false;
    if (stopping) port.exit(0);
  };

  const sayDying = (reason: WireError | null, code: number | null): void => {
    if (dying) return;
    dying = true;
    try {
      port.post({ type: 'dying', running, results: buffer, reason, code }, []);
    } catch {
      // Nothing more can be said; the pool learns of the death from the exit itself.
    }
    buffer = [];
  };

  // A task that calls process.exit() or throws from a timer takes the worker down; say which chunk it was.
  if (ownsProcess) {
    process.on('exit', (code) => {
      if (running !== null || buffer.length > 0) sayDying(null, code);
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
    } catch (err) {
      port.post({ type: 'init-failed', error: serializeError(explainInlineError(initializer!, err)) }, []);
    }
  };

  port.onMessage((message) => {
    switch (message.type) {
      case 'init':
        void init(message.initializer, message.initargs);
        return;
      case 'run':
        for (const [id, ref] of message.fns) refs.set(id, ref);
        for (const chunk of message.chunks) queue.push(chunk);
        void pump();
        return;
      case 'stop':
        stopping = true;
        if (!pumping) port.exit(0);
        return;
      default: {
        const never: never = message;
        throw new Error(`mpool internal: unknown message ${JSON.stringify(never)}`);
      }
    }
  });
}
