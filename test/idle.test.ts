// No worker is idle while another holds unstarted work: two tasks that wait for each other always meet when
// the pool has two workers free, however fast the pool believes their function to be.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Pool } from '../src/index.js';
import { meet } from './fixtures/tasks.js';
import { CONTEXTS, sleep } from './helpers.js';

const ROUNDS = 20;

// Fast chunks are prefetched to busy workers; chunks of a few milliseconds also go to an idle thread in deep
// batches, since a thread's unstarted chunks can be taken back.
const WARM = [
  { cost: 'fast', ms: 0 },
  { cost: 'a few milliseconds', ms: 3 },
];

for (const context of CONTEXTS) {
  describe(`idle workers (${context})`, () => {
    for (const { cost, ms } of WARM)
      it(`two tasks submitted together run on two workers, after the pool learned their function is ${cost} and replaced its workers`, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'mpool-meet-'));
        try {
          for (let round = 0; round < ROUNDS; round++) {
            // Warmed with exactly maxtasksperchild tasks each, both workers are replaced as the two arrive.
            const pool = new Pool({ processes: 2, context, maxtasksperchild: 20 });
            try {
              await pool.starmap(
                meet,
                Array.from({ length: 40 }, () => [null, ms]),
                1,
              );
              // Shared memory does not reach a process: there the two meet in a file.
              const place = context === 'thread' ? new SharedArrayBuffer(4) : join(dir, `round-${round}`);
              const both = Promise.all([pool.apply(meet, [place, 3000]), pool.apply(meet, [place, 3000])]);
              const bound = sleep(20_000).then(() => 'hung' as const);
              const outcome = await Promise.race([both.catch((e: unknown) => e), bound]);
              assert.deepEqual(outcome, [1, 1], `round ${round}: ${String(outcome)}`);
            } finally {
              await pool.terminate();
            }
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
  });
}
