// The worker loop and protocol in-process, over a MessageChannel: no worker is spawned.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  type TransferListItem,
} from 'node:worker_threads';
import type { FromWorker, ToWorker } from '../src/protocol.js';
import { type ChunkIn, ChunkKind, type ChunkOut, Claim, type FnRef, OutcomeKind } from '../src/protocol.js';
import { claimCells, revoke } from '../src/wire/claim.js';
import {
  decodeChunks,
  decodeOutcomes,
  encodeChunks,
  encodeOutcomes,
  transferList,
} from '../src/wire/codec.js';
import { deserializeError, serializeError, type WireError } from '../src/wire/errors.js';
import { sharedPage, sharedResults } from '../src/wire/shared.js';
import { startLoop } from '../src/worker/loop.js';

// Every harness's ports, closed after each test even when it fails, so a failure cannot hang the file.
const openPorts: MessagePort[] = [];
afterEach(() => {
  for (const port of openPorts.splice(0)) port.close();
});

/** A loop over a MessageChannel; `receive` gives it the thread transport's synchronous take. */
function harness({ receive = false } = {}) {
  const { port1, port2 } = new MessageChannel();
  openPorts.push(port1, port2);
  let exited: number | null = null;
  startLoop(
    {
      post: (m, t) => port2.postMessage(m, t),
      onMessage: (h) => port2.on('message', h),
      ...(receive && { receive: () => receiveMessageOnPort(port2)?.message as ToWorker | undefined }),
      exit: (code) => {
        exited = code;
        port2.close();
      },
    },
    { ownsProcess: false },
  );
  const received: FromWorker[] = [];
  const waiters: Array<() => void> = [];
  port1.on('message', (m: FromWorker) => {
    received.push(m);
    waiters.shift()?.();
  });
  const next = async (): Promise<FromWorker> => {
    if (received.length === 0) await new Promise<void>((r) => waiters.push(r));
    return received.shift()!;
  };
  const send = (m: ToWorker, transfer: TransferListItem[] = []) => port1.postMessage(m, transfer);
  return { port: port1 as MessagePort, next, send, exited: () => exited, received };
}

/** A harness whose loop has initialized (no initializer) and said it is ready. */
async function readyHarness(options: { receive?: boolean } = {}): Promise<ReturnType<typeof harness>> {
  const h = harness(options);
  h.send({ type: 'init', workerId: 1, initializer: null, initargs: [], claims: null });
  assert.deepEqual(await h.next(), { type: 'ready' });
  return h;
}

const inline = (fn: (...a: never[]) => unknown) => ({
  kind: 'inline' as const,
  source: fn.toString(),
  name: fn.name,
});

/** A task that busy-waits `ms` and returns its argument: a chunk of known length. */
const busy = inline((ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
  return ms;
});

/**
 * Sends `count` one-item chunks of busy(ms) in one batch, as one sent well ahead (`hold`) or not; returns the
 * results message by message.
 */
async function slowChunks(
  h: ReturnType<typeof harness>,
  count: number,
  ms: number,
  hold = true,
): Promise<number[][]> {
  const chunks = Array.from({ length: count }, (_, i) => ({
    id: i,
    fnId: 1,
    base: i,
    star: false,
    items: [ms],
  }));
  const moved: TransferListItem[] = [];
  const batch = encodeChunks(chunks, moved, { share: true, hold });
  h.send({ type: 'run', fns: [[1, busy]], batch }, transferList(batch.numbers, moved));
  const messages: number[][] = [];
  for (let got = 0; got < count; ) {
    const m = await h.next();
    assert.equal(m.type, 'results');
    if (m.type !== 'results') break;
    const ids: number[] = [];
    decodeOutcomes(m.batch, (id, ok, v) => {
      assert.ok(ok);
      assert.deepEqual(Array.from(v as ArrayLike<unknown>), [ms]);
      ids.push(id);
    });
    // Each message says how long its chunks ran (the pool's per-item cost comes from this).
    assert.ok(m.batch.ms >= ids.length * ms * 0.99, `${m.batch.ms} ms for ${ids.length} chunks of ${ms} ms`);
    messages.push(ids);
    got += ids.length;
  }
  return messages;
}

/** The ids of the outcomes in each results message, until `count` have come. */
async function idsByMessage(h: ReturnType<typeof harness>, count: number): Promise<number[][]> {
  const messages: number[][] = [];
  while (messages.flat().length < count) {
    const m = await h.next();
    if (m.type !== 'results') continue;
    const ids: number[] = [];
    decodeOutcomes(m.batch, (id) => ids.push(id));
    messages.push(ids);
  }
  return messages;
}

/** Each chunk's first value, by id in the order they came, until `count` outcomes have come. */
async function firstValues(h: ReturnType<typeof harness>, count: number): Promise<Array<[number, unknown]>> {
  const outcomes = new Map<number, unknown>();
  while (outcomes.size < count) {
    const m = await h.next();
    if (m.type === 'results') decodeOutcomes(m.batch, (id, _ok, v) => outcomes.set(id, (v as unknown[])[0]));
  }
  return [...outcomes];
}

/** Runs a batch through encodeChunks and collects every outcome the worker sends back. */
async function run(h: ReturnType<typeof harness>, fns: Array<[number, FnRef]>, chunks: ChunkIn[]) {
  const moved: TransferListItem[] = [];
  const batch = encodeChunks(chunks, moved, { share: true });
  h.send({ type: 'run', fns, batch }, transferList(batch.numbers, moved));
  const outcomes: Array<{ id: number; ok: boolean; value: unknown }> = [];
  while (outcomes.length < chunks.length) {
    const m = await h.next();
    assert.equal(m.type, 'results');
    if (m.type === 'results') {
      decodeOutcomes(m.batch, (id, ok, v) => {
        outcomes.push({
          id,
          ok,
          value: ok ? Array.from(v as ArrayLike<unknown>) : deserializeError(v as WireError),
        });
      });
    }
  }
  return outcomes;
}

describe('wire format', () => {
  it('puts chunks in columns: numbers packed, apply tuples inline, others as lists', () => {
    const batch = encodeChunks(
      [
        { id: 1, fnId: 7, base: 0, star: false, items: Array.from({ length: 10 }, (_, i) => i) },
        { id: 2, fnId: 7, base: 10, star: false, items: ['a'] },
        { id: 3, fnId: 8, base: 0, star: true, items: [[1, 2]] },
        {
          id: 4,
          fnId: 8,
          base: 0,
          star: true,
          items: [
            [1, 2],
            [3, 4],
          ],
        },
      ],
      [],
      { share: false },
    );
    assert.deepEqual([...batch.kinds], [ChunkKind.PACKED, ChunkKind.ITEMS, ChunkKind.APPLY, ChunkKind.STAR]);
    assert.deepEqual(batch.items, [
      10,
      ['a'],
      [1, 2],
      [
        [1, 2],
        [3, 4],
      ],
    ]);
    const back: ChunkOut[] = [];
    decodeChunks(batch, (c) => back.push(c));
    assert.deepEqual(
      Array.from(back[0]!.items),
      Array.from({ length: 10 }, (_, i) => i),
    );
    assert.deepEqual(back[2], {
      id: 3,
      fn: 8,
      base: 0,
      star: true,
      items: [[1, 2]],
      first: false,
      hold: false,
      claims: null,
      index: 2,
    });
    assert.equal(back[0]!.first, true);
  });

  it('sends chunks of shared pages to a thread as one page reference per batch and offsets', () => {
    const page = sharedPage(10);
    page.set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const other = sharedPage(3);
    other.set([7, 8, 9]);
    const chunks: ChunkIn[] = [
      { id: 1, fnId: 1, base: 0, star: false, items: page.subarray(0, 4) },
      { id: 2, fnId: 1, base: 4, star: false, items: page.subarray(4, 10) },
      { id: 3, fnId: 1, base: 10, star: false, items: other },
    ];
    const batch = encodeChunks(chunks, [], { share: true });
    assert.deepEqual([...batch.kinds], [ChunkKind.SHARED, ChunkKind.SHARED, ChunkKind.SHARED]);
    assert.deepEqual(batch.pages, [page.buffer, other.buffer]);
    assert.deepEqual(batch.items, [4, 6, 3]);
    const back: ChunkOut[] = [];
    decodeChunks(batch, (c) => back.push(c));
    assert.deepEqual(
      back.map((c) => Array.from(c.items)),
      [
        [0, 1, 2, 3],
        [4, 5, 6, 7, 8, 9],
        [7, 8, 9],
      ],
    );
    // The worker's view is of the same memory: results it writes land where the pool reads them.
    sharedResults(back[1]!.items as Float64Array).set([40, 50, 60, 70, 80, 90]);
    assert.deepEqual(Array.from(sharedResults(page.subarray(4, 10))), [40, 50, 60, 70, 80, 90]);
    // To a child process the same chunks are packed into one transferred buffer instead.
    const packed = encodeChunks(chunks, [], { share: false });
    assert.deepEqual([...packed.kinds], [ChunkKind.PACKED, ChunkKind.PACKED, ChunkKind.PACKED]);
    assert.equal(packed.pages, null);
    assert.equal(packed.numbers?.length, 13);
  });

  it('puts outcomes in columns: single values inline, numbers packed, errors as data', () => {
    const batch = encodeOutcomes(
      [
        { id: 1, ok: true, values: [5] },
        { id: 2, ok: true, values: Array.from({ length: 9 }, (_, i) => i) },
        { id: 3, ok: false, error: serializeError(new TypeError('x')) },
        { id: 4, ok: true, values: ['a', 'b'] },
      ],
      [],
    );
    assert.deepEqual(
      [...batch.kinds],
      [OutcomeKind.SINGLE, OutcomeKind.PACKED, OutcomeKind.ERROR, OutcomeKind.VALUES],
    );
    const seen: unknown[] = [];
    decodeOutcomes(batch, (id, ok, v) =>
      seen.push([id, ok, ok ? Array.from(v as ArrayLike<unknown>) : 'error']),
    );
    assert.deepEqual(seen, [
      [1, true, [5]],
      [2, true, [0, 1, 2, 3, 4, 5, 6, 7, 8]],
      [3, false, 'error'],
      [4, true, ['a', 'b']],
    ]);
  });
});

describe('worker loop', () => {
  it('writes the results of a shared numeric chunk into its page, falling back for non-numbers', async () => {
    const h = harness();
    h.send({ type: 'init', workerId: 1, initializer: null, initargs: [], claims: null });
    assert.deepEqual(await h.next(), { type: 'ready' });
    const page = sharedPage(8);
    page.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const chunks: ChunkIn[] = [
      { id: 1, fnId: 1, base: 0, star: false, items: page.subarray(0, 3) },
      { id: 2, fnId: 2, base: 3, star: false, items: page.subarray(3, 6) },
      { id: 3, fnId: 3, base: 6, star: false, items: page.subarray(6, 8) },
    ];
    const moved: TransferListItem[] = [];
    const batch = encodeChunks(chunks, moved, { share: true });
    assert.equal(batch.numbers, null, 'shared views are not packed');
    h.send(
      {
        type: 'run',
        fns: [
          [1, inline((x: number) => x * 10)],
          [2, inline((x: number) => (x === 5 ? 'five' : x === 6 ? -0 : x))],
          [3, inline(async (x: number) => x + 0.5)],
        ],
        batch,
      },
      transferList(batch.numbers, moved),
    );
    const seen = new Map<number, { kind: number; values: unknown[] }>();
    while (seen.size < 3) {
      const m = await h.next();
      if (m.type !== 'results') continue;
      m.batch.ids.forEach((id, i) => {
        let values: unknown[] = [];
        decodeOutcomes(
          {
            ids: m.batch.ids.slice(i, i + 1),
            kinds: m.batch.kinds.slice(i, i + 1),
            values: [m.batch.values[i]],
            numbers: null,
            ms: 0,
            at: m.batch.at,
            startsUs: m.batch.startsUs.slice(i, i + 1),
            runsUs: m.batch.runsUs.slice(i, i + 1),
            copyMs: 0,
            heap: 0,
          },
          (_id, _ok, v) => (values = Array.from(v as ArrayLike<unknown>)),
          (cid) => sharedResults(chunks.find((c) => c.id === cid)!.items as Float64Array),
        );
        seen.set(id, { kind: m.batch.kinds[i]!, values });
      });
    }
    // All numbers: written in place, nothing sent but the count.
    assert.deepEqual(seen.get(1), { kind: OutcomeKind.SHARED, values: [10, 20, 30] });
    assert.deepEqual(Array.from(page.subarray(0, 8)), [1, 2, 3, 4, 5, 6, 7, 8], 'items untouched');
    // A string midway: the general path, numbers before it kept, -0 kept.
    const mixed = seen.get(2)!;
    assert.notEqual(mixed.kind, OutcomeKind.SHARED);
    assert.deepEqual(mixed.values, [4, 'five', -0]);
    assert.ok(Object.is(mixed.values[2], -0));
    // Promises are awaited on the general path.
    assert.deepEqual(seen.get(3)!.values, [7.5, 8.5]);
    h.port.close();
  });

  it('claims each chunk of a batch with claim cells before running it, and skips one the pool took back', async () => {
    const h = await readyHarness({ receive: true });
    const cells = claimCells(4);
    // The pool takes back chunk 2 before the worker reaches it.
    assert.equal(revoke(cells, 2), true);
    const chunks = [0, 1, 2, 3].map((id) => ({ id, fnId: 1, base: id, star: false, items: [id] }));
    const batch = encodeChunks(chunks, [], { share: true, hold: true, claims: cells });
    h.send({ type: 'run', fns: [[1, inline((x: number) => x * 10)]], batch });
    assert.deepEqual(await firstValues(h, 3), [
      [0, 0],
      [1, 10],
      [3, 30],
    ]);
    assert.deepEqual(Array.from(cells), [Claim.STARTED, Claim.STARTED, Claim.REVOKED, Claim.STARTED]);
    // Once started, a chunk cannot be taken back.
    assert.equal(revoke(cells, 1), false);
    // Nothing more comes for the revoked chunk.
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.received.length, 0);
    h.port.close();
  });

  it("claims chunks through the thread's own cells from 'init', from where the batch says, wrapping round", async () => {
    const h = harness({ receive: true });
    const own = claimCells(4);
    h.send({ type: 'init', workerId: 1, initializer: null, initargs: [], claims: own });
    assert.deepEqual(await h.next(), { type: 'ready' });
    // The batch's three chunks have cells 3, 0 and 1; the pool takes back the second.
    assert.equal(revoke(own, 0), true);
    const chunks = [0, 1, 2].map((id) => ({ id, fnId: 1, base: id, star: false, items: [id] }));
    const batch = encodeChunks(chunks, [], { share: true, claimAt: 3 });
    assert.equal(batch.claims, null, 'the batch carries no cells of its own');
    h.send({ type: 'run', fns: [[1, inline((x: number) => x * 10)]], batch });
    assert.deepEqual(await firstValues(h, 2), [
      [0, 0],
      [2, 20],
    ]);
    assert.deepEqual(Array.from(own), [Claim.REVOKED, Claim.STARTED, Claim.QUEUED, Claim.STARTED]);
    h.port.close();
  });

  it('initializes, runs batched chunks in order, and stops on request', async () => {
    const h = harness();
    h.send({ type: 'init', workerId: 1, initializer: null, initargs: [], claims: null });
    assert.deepEqual(await h.next(), { type: 'ready' });
    const outcomes = await run(
      h,
      [[1, inline((x: number) => x + 1)]],
      [
        { id: 10, fnId: 1, base: 0, star: false, items: Array.from({ length: 10 }, (_, i) => i) },
        { id: 11, fnId: 1, base: 10, star: false, items: [1] },
      ],
    );
    assert.deepEqual(outcomes, [
      { id: 10, ok: true, value: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
      { id: 11, ok: true, value: [2] },
    ]);
    h.send({ type: 'stop' });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.exited(), 0);
    h.port.close();
  });

  it('returns the results of slow chunks together while two more wait, and in order', async () => {
    const h = await readyHarness({ receive: true });
    const messages = await slowChunks(h, 6, 2);
    assert.deepEqual(messages.flat(), [0, 1, 2, 3, 4, 5]);
    // One message a chunk would wake the pool six times; the last waiting chunk always starts after a flush.
    assert.ok(
      messages.length < 6,
      `results came in ${messages.length} messages: ${JSON.stringify(messages)}`,
    );
    assert.ok(messages.length >= 2, 'results are sent before the last waiting chunk starts');
    // A batch the pool did not send ahead: it may be waiting on each result, so each goes at once.
    assert.deepEqual(await slowChunks(h, 3, 2, false), [[0], [1], [2]]);
    h.port.close();
  });

  it('takes work already waiting in the port without a turn of the event loop', async () => {
    for (const receive of [true, false]) {
      const h = await readyHarness({ receive });
      const flag = Symbol.for('mpool.test.turned');
      const mark = inline(() => {
        const g = globalThis as Record<symbol, unknown>;
        g[Symbol.for('mpool.test.turned')] = false;
        queueMicrotask(() => {
          g[Symbol.for('mpool.test.turned')] = true;
        });
        return 0;
      });
      const look = inline(() => (globalThis as Record<symbol, unknown>)[Symbol.for('mpool.test.turned')]);
      // Two messages: the second waits in the port while the first runs.
      for (const [id, fnId, fn] of [
        [1, 1, mark],
        [2, 2, look],
      ] as const) {
        const batch = encodeChunks([{ id, fnId, base: 0, star: false, items: [null] }], [], { share: true });
        h.send({ type: 'run', fns: [[fnId, fn]], batch });
      }
      const seen = new Map<number, unknown>();
      while (seen.size < 2) {
        const m = await h.next();
        if (m.type === 'results') decodeOutcomes(m.batch, (id, _ok, v) => seen.set(id, (v as unknown[])[0]));
      }
      // With receive, the second chunk ran before the first one's microtask; without, after it.
      assert.equal(seen.get(2), !receive, `receive: ${receive}`);
      delete (globalThis as Record<symbol, unknown>)[flag];
      h.port.close();
    }
  });

  it('does not hold results behind a chunk from a batch that was not sent ahead', async () => {
    const h = await readyHarness({ receive: true });
    const send = (ids: number[], ms: number[], hold: boolean) => {
      const chunks = ids.map((id, k) => ({ id, fnId: 1, base: id, star: false, items: [ms[k]!] }));
      h.send({ type: 'run', fns: [[1, busy]], batch: encodeChunks(chunks, [], { share: true, hold }) });
    };
    // A batch sent ahead (two chunks of 2 ms), then an ordinary one: two quick chunks and one of 60 ms.
    send([0, 1], [2, 2], true);
    send([2, 3, 4], [0, 0, 60], false);
    const messages = await idsByMessage(h, 5);
    // The held results went before the ordinary batch began, not after its long chunk.
    const last = messages.find((ids) => ids.includes(4))!;
    assert.ok(!last.includes(0) && !last.includes(1), JSON.stringify(messages));
    h.port.close();
  });

  it('holds the results of slow chunks for 50 ms at most', async () => {
    const h = await readyHarness({ receive: true });
    // Chunks of 12 ms: a sixth result would mean the first had waited 60 ms.
    const messages = await slowChunks(h, 8, 12);
    assert.deepEqual(messages.flat(), [0, 1, 2, 3, 4, 5, 6, 7]);
    for (const ids of messages) assert.ok(ids.length <= 5, `one message held ${JSON.stringify(ids)}`);
    h.port.close();
  });

  it("lets the event loop turn about every 50 ms of a long batch, so a task's timers run", async () => {
    const h = await readyHarness({ receive: true });
    // Chunk 0 sets a timer; every chunk runs 10 ms and says whether the timer has fired yet.
    const watch = inline((i: number) => {
      const g = globalThis as Record<symbol, unknown>;
      const key = Symbol.for('mpool.test.fired');
      if (i === 0) {
        g[key] = false;
        setTimeout(() => {
          g[key] = true;
        }, 0);
      }
      const end = performance.now() + 10;
      while (performance.now() < end);
      return g[key];
    });
    const chunks = Array.from({ length: 20 }, (_, id) => ({
      id,
      fnId: 1,
      base: id,
      star: false,
      items: [id],
    }));
    h.send({ type: 'run', fns: [[1, watch]], batch: encodeChunks(chunks, [], { share: true, hold: true }) });
    const fired = new Map<number, unknown>();
    while (fired.size < 20) {
      const m = await h.next();
      if (m.type === 'results') decodeOutcomes(m.batch, (id, _ok, v) => fired.set(id, (v as unknown[])[0]));
    }
    assert.equal(fired.get(1), false, 'no turn between two chunks 10 ms apart');
    assert.equal(fired.get(19), true, 'the timer fired during the 200 ms batch, not after it');
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('mpool.test.fired')];
    h.port.close();
  });

  it('takes the next batch sent ahead before the last chunk of this one, so held results stay held', async () => {
    const h = await readyHarness({ receive: true });
    const send = (ids: number[]) => {
      const chunks = ids.map((id) => ({ id, fnId: 1, base: id, star: false, items: [2] }));
      h.send({ type: 'run', fns: [[1, busy]], batch: encodeChunks(chunks, [], { share: true, hold: true }) });
    };
    // 60 ms of chunks, then a second batch waiting in the port behind them.
    send(Array.from({ length: 30 }, (_, i) => i));
    send([30, 31]);
    const messages = await idsByMessage(h, 32);
    assert.deepEqual(
      messages.flat(),
      Array.from({ length: 32 }, (_, i) => i),
    );
    // Past the loop's first 50 ms the first batch's end is no reason to send: the results of its last
    // chunks went out with the next batch's.
    assert.ok(!messages.some((ids) => ids.at(-1) === 29), JSON.stringify(messages));
    h.port.close();
  });

  it('leaves at once when told to stop while its initializer runs, and runs nothing after it', async () => {
    const h = harness();
    h.send({
      type: 'init',
      workerId: 1,
      initializer: inline(() => new Promise((resolve) => setTimeout(resolve, 50))),
      initargs: [],
      claims: null,
    });
    const batch = encodeChunks([{ id: 1, fnId: 1, base: 0, star: false, items: [1] }], [], { share: true });
    h.send({ type: 'run', fns: [[1, inline((x: number) => x + 1)]], batch });
    h.send({ type: 'stop' });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.exited(), 0, 'it left before its initializer finished');
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(h.received, [], 'no result came from work queued behind the initializer');
  });

  it('takes a stop that waits behind work without a turn of the event loop, after the work', async () => {
    const h = await readyHarness({ receive: true });
    const messages = slowChunks(h, 3, 5);
    h.send({ type: 'stop' });
    assert.deepEqual((await messages).flat(), [0, 1, 2]);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.exited(), 0);
    h.port.close();
  });

  it('reports an initializer failure, and a failing chunk with its error', async () => {
    const h = harness();
    h.send({
      type: 'init',
      workerId: 1,
      initializer: inline(() => {
        throw new RangeError('init');
      }),
      initargs: [],
      claims: null,
    });
    const m = await h.next();
    assert.equal(m.type, 'init-failed');
    if (m.type === 'init-failed') assert.ok(deserializeError(m.error) instanceof RangeError);
    h.port.close();
    // A worker whose initializer failed runs nothing (the pool terminates): use a healthy one.
    const w = harness();
    w.send({ type: 'init', workerId: 2, initializer: null, initargs: [], claims: null });
    assert.deepEqual(await w.next(), { type: 'ready' });
    const outcomes = await run(
      w,
      [
        [2, inline((a: number, b: number) => a / b)],
        [3, inline(() => undefinedVariable)],
      ],
      [
        { id: 1, fnId: 2, base: 0, star: true, items: [[6, 3]] },
        { id: 2, fnId: 3, base: 1, star: false, items: [null] },
      ],
    );
    assert.deepEqual(outcomes[0], { id: 1, ok: true, value: [2] });
    assert.equal(outcomes[1]!.ok, false);
    assert.match((outcomes[1]!.value as Error).message, /cannot use `undefinedVariable`/);
    w.port.close();
  });
});

declare const undefinedVariable: unknown;
