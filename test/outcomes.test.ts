// What a worker's report settles, and what it says of its function's cost per item (settleBatch).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkJob, ChunkResult } from '../src/executor.js';
import type { Outcome } from '../src/protocol.js';
import { Ledger } from '../src/runtime/ledger.js';
import { settleBatch } from '../src/runtime/outcomes.js';
import { Slot } from '../src/runtime/slot.js';
import { encodeOutcomes } from '../src/wire/codec.js';
import { serializeError } from '../src/wire/errors.js';
import { NEW_RECORD } from './helpers.js';

/** A chunk of `n` numbers of function `fnId`. */
const job = (id: number, fnId: number, n: number): ChunkJob => ({
  id,
  call: 0,
  ...NEW_RECORD,
  fnId,
  fn: { kind: 'inline', source: '(x) => x', name: '' },
  items: Array.from({ length: n }, (_, i) => i),
  star: false,
  base: 0,
  timeout: null,
  retries: 0,
  exclusive: false,
});

/** A report of `outcomes`, the k-th having run `runsUs[k]` microseconds. */
function report(outcomes: Outcome[], runsUs: number[]) {
  return encodeOutcomes(outcomes, [], {
    at: 0,
    startsUs: runsUs.map(() => 0),
    runsUs,
    copyMs: 0,
    heap: 0,
  });
}

const ok = (id: number, n: number): Outcome => ({ id, ok: true, values: Array(n).fill(0) });

describe('settleBatch', () => {
  it('settles every chunk reported, and tells the cost per item of its warm, successful chunks only', () => {
    const settled: Array<[number, ChunkResult]> = [];
    const ledger = new Ledger(0, (record, result) => settled.push([record.id, result]));
    const slot = new Slot(1);
    const jobs = [job(1, 7, 10), job(2, 7, 10), job(3, 7, 10), job(4, 7, 10)];
    for (const j of jobs) ledger.queue(j);
    ledger.sent(jobs, slot.id, 0);
    slot.sent(jobs, null, -1, 0);
    // Chunk 1 brought function 7: its worker loaded and compiled it there.
    slot.knownFns.set(7, 1);
    const failed: Outcome = { id: 3, ok: false, error: serializeError(new Error('item 0')) };
    const { fnId, sample } = settleBatch(
      slot,
      report([ok(1, 10), ok(2, 10), failed, ok(4, 10)], [900, 20, 1, 30]),
      ledger,
    );
    assert.deepEqual(
      settled.map(([id, result]) => [id, result.ok]),
      [
        [1, true],
        [2, true],
        [3, false],
        [4, true],
      ],
    );
    assert.equal(fnId, 7);
    // Chunks 2 and 4: 20 items in 50 us. Not chunk 1 (loading), nor chunk 3 (it stopped at its first item).
    assert.deepEqual(sample, { items: 20, ms: 0.05 });
  });

  it('tells no cost per item when the function credited is not the first in the report', () => {
    const ledger = new Ledger(0, () => {});
    const slot = new Slot(1);
    const jobs = [job(1, 1, 5), job(2, 2, 5), job(3, 2, 5)];
    for (const j of jobs) ledger.queue(j);
    ledger.sent(jobs, slot.id, 0);
    slot.sent(jobs, null, -1, 0);
    const { fnId, sample } = settleBatch(slot, report([ok(1, 5), ok(2, 5), ok(3, 5)], [8000, 5, 5]), ledger);
    assert.equal(fnId, 2, 'the function with the most chunks');
    assert.deepEqual(sample, { items: 0, ms: 0 }, "the first function's 8 ms are not function 2's");
  });
});
