// A worker's life as the local executor keeps it: one phase, changed only by Slot's methods.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkRecord } from '../src/runtime/ledger.js';
import { Slot } from '../src/runtime/slot.js';

/** Just what Slot reads of a chunk's record. */
const record = (id: number): ChunkRecord => ({ id, fnId: 1 }) as ChunkRecord;

describe('Slot', () => {
  it('starts, becomes ready, and is busy exactly while a batch owes outcomes', () => {
    const slot = new Slot(1);
    assert.equal(slot.phase.name, 'starting');
    assert.equal(slot.life, 'starting');
    assert.equal(slot.ready, false);
    // Work may go to a worker still starting: it queues behind the initializer.
    assert.equal(slot.idle, true);
    slot.sent([record(1), record(2)], null, 0);
    assert.equal(slot.busy, true);
    assert.equal(slot.life, 'starting');
    slot.markReady();
    assert.equal(slot.phase.name, 'ready');
    assert.equal(slot.life, 'busy');
    slot.account(1);
    assert.equal(slot.busy, true);
    slot.account(1);
    assert.equal(slot.busy, false);
    assert.equal(slot.idle, true);
    assert.equal(slot.life, 'idle');
    assert.equal(slot.tasksDone, 2);
  });

  it('is neither idle nor busy once stopping, and keeps whether it had started', () => {
    const starting = new Slot(1);
    starting.stopGracefully('idle', 'it was idle');
    assert.equal(starting.stopping, true);
    assert.equal(starting.ready, false);
    assert.equal(starting.idle, false);
    assert.equal(starting.busy, false);
    assert.equal(starting.life, 'stopping');
    assert.equal(starting.retired, true);
    assert.equal(starting.killed, false);
    // Its initializer may still finish before it leaves.
    starting.markReady();
    assert.equal(starting.ready, true);
    assert.equal(starting.phase.name, 'stopping');

    const busy = new Slot(2);
    busy.markReady();
    busy.sent([record(1)], null, 0);
    busy.markKilled('timeout', 'its task timed out');
    assert.equal(busy.ready, true);
    assert.equal(busy.busy, false);
    assert.equal(busy.killed, true);
    assert.deepEqual(busy.stopped, { kind: 'timeout', reason: 'its task timed out' });
  });

  it('keeps the first reason it was stopped for, and its last words, whatever comes after', () => {
    const slot = new Slot(1);
    slot.markReady();
    slot.stopGracefully('close', 'the pool was closing');
    assert.equal(slot.killed, false);
    // terminate() after close() still kills it; it was stopped for closing.
    slot.markKilled('terminate', 'the pool was terminated');
    assert.equal(slot.killed, true);
    assert.deepEqual(slot.stopped, { kind: 'close', reason: 'the pool was closing' });

    const dying = new Slot(2);
    dying.markReady();
    const reason = new Error('thrown from a timer');
    const words = { running: 7, reason };
    dying.heardLastWords(words);
    assert.equal(dying.stopping, true);
    assert.equal(dying.stopped, null, 'the pool did not stop it: it is going by itself');
    dying.markKilled('terminate', 'the pool was terminated');
    assert.deepEqual(dying.lastWords, words);
    assert.deepEqual(dying.stopped, { kind: 'terminate', reason: 'the pool was terminated' });
  });

  it('has no last words, reason or kill before it stops', () => {
    const slot = new Slot(1);
    slot.markReady();
    assert.equal(slot.stopped, null);
    assert.equal(slot.lastWords, null);
    assert.equal(slot.killed, false);
    assert.equal(slot.retired, false);
  });
});
