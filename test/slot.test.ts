// A worker's life as the local executor keeps it: one phase, changed only by Slot's methods.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Claim } from '../src/protocol.js';
import type { ChunkRecord } from '../src/runtime/ledger.js';
import { Slot } from '../src/runtime/slot.js';
import { ClaimRing, claim, claimCells } from '../src/wire/claim.js';

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
    slot.sent([record(1), record(2)], null, -1, 0);
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
    busy.sent([record(1)], null, -1, 0);
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

  it("gives a thread's own claim cells out again only once the worker has passed them", () => {
    const ring = new ClaimRing();
    const size = ring.cells.length;
    assert.equal(ring.take(size), 0);
    assert.equal(ring.take(1), -1, 'every cell is out');
    for (let k = 0; k < 10; k++) assert.equal(claim(ring.cells, k), true);
    // The chunk given cell 9 reported: the worker has passed cells 0 to 9, and only those.
    ring.passed(9);
    assert.equal(ring.take(11), -1);
    assert.equal(ring.take(10), size, 'counted on from the last given; its cells are 0 to 9 again');
    assert.deepEqual(Array.from(ring.cells.subarray(0, 10)), new Array(10).fill(Claim.QUEUED));
    // An older report says nothing new.
    ring.passed(3);
    assert.equal(ring.take(1), -1);
  });

  it('frees ring cells when a chunk that had one reports, not when one is taken back', () => {
    const slot = new Slot(1);
    slot.ring = new ClaimRing();
    const { cells } = slot.ring;
    const size = cells.length;
    assert.equal(slot.ring.take(size - 2), 0);
    const given = slot.ring.take(2);
    slot.sent([record(1), record(2)], cells, given, 0);
    assert.equal(slot.ring.take(1), -1);
    // Taken back before the worker reached it: the worker has yet to pass its cell.
    assert.equal(slot.revoke(2), true);
    assert.equal(Atomics.load(cells, size - 1), Claim.REVOKED);
    assert.equal(slot.ring.take(1), -1);
    // Chunk 1 reports: its cell and every one before it are free, but not chunk 2's.
    assert.equal(claim(cells, size - 2), true);
    assert.equal(slot.reported(1)?.id, 1);
    assert.equal(slot.ring.take(size - 1), size);
    assert.equal(slot.ring.take(1), -1);
  });

  it('knows which chunk a worker loaded each function for, also once that chunk was taken back', () => {
    const slot = new Slot(1);
    const cells = claimCells(3);
    const of = (id: number, fnId: number) => ({ id, fnId }) as ChunkRecord;
    slot.sent([of(1, 1), of(2, 2), of(3, 2)], cells, -1, 0);
    slot.knownFns.set(1, 1);
    slot.knownFns.set(2, 2);
    // Chunk 2 brought function 2, but was taken back: chunk 3, the next of it to report, loaded it.
    assert.equal(slot.revoke(2), true);
    assert.equal(slot.loadedFor(1, 1), true);
    assert.equal(slot.loadedFor(2, 3), true);
    slot.sent([of(4, 1), of(5, 2)], claimCells(2), -1, 0);
    assert.equal(slot.loadedFor(1, 4), false);
    assert.equal(slot.loadedFor(2, 5), false);
  });

  it('frees ring cells when a batch sent with its own cells, after them, reports', () => {
    const slot = new Slot(1);
    slot.ring = new ClaimRing();
    const size = slot.ring.cells.length;
    const all = Array.from({ length: size }, (_, i) => record(i + 1));
    slot.sent(all, slot.ring.cells, slot.ring.take(size), 0);
    assert.equal(slot.ring.take(1), -1, 'every cell is out');
    // The next batch brings its own cells; the worker reaches it after every chunk of the ring's.
    const own = claimCells(1);
    slot.sent([record(size + 1)], own, -1, 0);
    for (let k = 0; k < size; k++) assert.equal(claim(slot.ring.cells, k), true);
    assert.equal(claim(own, 0), true);
    assert.equal(slot.reported(size + 1)?.id, size + 1);
    assert.equal(slot.ring.take(size), size, 'the whole ring is free again');
  });
});
