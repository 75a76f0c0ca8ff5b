// The worker loop and protocol in-process, over a MessageChannel: no worker is spawned.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { deserializeError } from '../src/errors.js';
import type { FromWorker, ToWorker } from '../src/protocol.js';
import { Packer, transferList, unpack } from '../src/protocol.js';
import { startLoop } from '../src/worker/loop.js';

function harness() {
  const { port1, port2 } = new MessageChannel();
  let exited: number | null = null;
  startLoop(
    {
      post: (m, t) => port2.postMessage(m, t),
      onMessage: (h) => port2.on('message', h),
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
  return { port: port1 as MessagePort, next, send, exited: () => exited };
}

const inline = (fn: (...a: never[]) => unknown) => ({
  kind: 'inline' as const,
  source: fn.toString(),
  name: fn.name,
});

describe('worker loop', () => {
  it('initializes, runs batched chunks in order, packs numbers, and stops on request', async () => {
    const h = harness();
    h.send({ type: 'init', workerId: 1, initializer: null, initargs: [] });
    assert.deepEqual(await h.next(), { type: 'ready' });
    const packer = new Packer(11);
    const packed = packer.pack(Array.from({ length: 10 }, (_, i) => i));
    assert.deepEqual(packed, { at: 0, n: 10 });
    const numbers = packer.finish();
    h.send(
      {
        type: 'run',
        fns: [[1, inline((x: number) => x + 1)]],
        chunks: [
          { id: 10, fn: 1, base: 0, star: false, items: packed },
          { id: 11, fn: 1, base: 10, star: false, items: [1] },
        ],
        numbers,
      },
      transferList(numbers),
    );
    const results: Array<{ id: number; values: unknown }> = [];
    while (results.length < 2) {
      const m = await h.next();
      assert.equal(m.type, 'results');
      if (m.type === 'results') {
        for (const r of m.results)
          if (r.ok) results.push({ id: r.id, values: Array.from(unpack(r.values, m.numbers)) });
      }
    }
    assert.deepEqual(results[0], { id: 10, values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
    assert.deepEqual(results[1], { id: 11, values: [2] });
    h.send({ type: 'stop' });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.exited(), 0);
    h.port.close();
  });

  it('reports a failing chunk with the error, and an initializer failure', async () => {
    const h = harness();
    h.send({
      type: 'init',
      workerId: 1,
      initializer: inline(() => {
        throw new RangeError('init');
      }),
      initargs: [],
    });
    const m = await h.next();
    assert.equal(m.type, 'init-failed');
    if (m.type === 'init-failed') assert.ok(deserializeError(m.error) instanceof RangeError);
    h.send({
      type: 'run',
      fns: [
        [2, inline((a: number, b: number) => a / b)],
        [3, inline(() => undefinedVariable)],
      ],
      chunks: [
        { id: 1, fn: 2, base: 0, star: true, items: [[6, 3]] },
        { id: 2, fn: 3, base: 1, star: false, items: [null] },
      ],
      numbers: null,
    });
    const got: FromWorker[] = [];
    while (got.flatMap((g) => (g.type === 'results' ? g.results : [])).length < 2) got.push(await h.next());
    const outcomes = got.flatMap((g) => (g.type === 'results' ? g.results : []));
    assert.deepEqual(outcomes[0], { id: 1, ok: true, values: [2] });
    const failed = outcomes[1]!;
    assert.equal(failed.ok, false);
    if (!failed.ok)
      assert.match((deserializeError(failed.error) as Error).message, /cannot use `undefinedVariable`/);
    h.port.close();
  });
});

declare const undefinedVariable: unknown;
