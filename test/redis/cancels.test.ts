// A node's side of the cancel channel: it stops what it runs, and keeps for a while what it does not run yet.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cancels, EARLY_MAX, EARLY_MS } from '../../src/redis/cancels.js';
import type { Running } from '../../src/redis/submitters.js';

const run = (): Running => ({
  controller: new AbortController(),
  released: false,
  cancelled: false,
  submitter: undefined,
});

describe('cancel channel, on a node', () => {
  it('stops the chunks it runs, and marks one already stopped for the shutdown as cancelled', () => {
    const running = new Map([
      ['a', run()],
      ['b', run()],
    ]);
    running.get('b')!.released = true;
    running.get('b')!.controller.abort();
    const lines: string[] = [];
    const cancels = new Cancels(running, (line) => lines.push(line));
    cancels.heard(JSON.stringify(['a', 'b']));
    assert.equal(running.get('a')!.controller.signal.aborted, true);
    assert.equal(running.get('a')!.cancelled, true);
    assert.equal(running.get('b')!.cancelled, true, 'it must fail, not go back to the queue');
    assert.deepEqual(lines, ['chunk a: stopping it, its submitter cancelled it']);
    assert.equal(cancels.size, 0, 'nothing kept for chunks that were running');
  });

  it('keeps ids it does not run, once each, for EARLY_MS', () => {
    let now = 1000;
    const cancels = new Cancels(
      new Map(),
      () => {},
      () => now,
    );
    cancels.heard(JSON.stringify(['x', 'y']));
    assert.equal(cancels.cancelledEarly('x'), true);
    assert.equal(cancels.cancelledEarly('x'), false, 'taken once');
    now += EARLY_MS - 1;
    cancels.heard(JSON.stringify(['z']));
    assert.equal(cancels.size, 2, 'y is not old yet');
    now += 2;
    cancels.heard('[]');
    assert.equal(cancels.cancelledEarly('y'), false, 'y is forgotten after EARLY_MS');
    assert.equal(cancels.cancelledEarly('z'), true);
  });

  it('keeps at most EARLY_MAX ids, the newest, and ignores what is not a list of ids', () => {
    const cancels = new Cancels(new Map(), () => {});
    const ids = Array.from({ length: EARLY_MAX + 5 }, (_, i) => `j${i}`);
    cancels.heard(JSON.stringify(ids));
    assert.equal(cancels.size, EARLY_MAX);
    assert.equal(cancels.cancelledEarly('j4'), false);
    assert.equal(cancels.cancelledEarly('j5'), true);
    for (const message of ['not json', '{"a":1}', '"j1"', '[1, null, {}]']) cancels.heard(message);
    assert.equal(cancels.size, EARLY_MAX - 1);
  });
});
