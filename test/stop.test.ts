// Issue 14: a failed call stops the rest of its own work (queued chunks dropped, unstarted ones taken back,
// running ones stopped with their workers replaced) and leaves other calls alone; so does a `break` out of imap.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { failFirst, slowSqr, sqr } from './fixtures/tasks.js';
import { CONTEXTS, sleep, withPool } from './helpers.js';

// Long enough that waiting behind a sibling cannot be mistaken for a worker restart; the files are checked 2 s
// after a sibling would have written (a worker first loads the task module: slow under tsx on Node 20).
const SIBLING_MS = 3000;

async function withDir<T>(body: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'mpool-stop-'));
  try {
    return await body(join(dir, 'siblings'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const written = (file: string): string[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

const items = (file: string, n: number, ms: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ x: from + i, file, ms }));

for (const context of CONTEXTS) {
  describe(`a failed call stops its own work (${context})`, () => {
    for (const how of ['map', 'imap', 'imapUnordered'] as const) {
      it(`${how}: its siblings never finish, and the pool takes new work at once`, {
        timeout: 30_000,
      }, async () => {
        await withDir(async (file) => {
          await withPool({ processes: 2, context }, async (pool) => {
            const started = performance.now();
            if (how === 'map') {
              await assert.rejects(pool.map(failFirst, items(file, 40, SIBLING_MS), 1), /item 0 failed/);
            } else {
              const results = pool[how](failFirst, items(file, 40, SIBLING_MS), 1);
              await assert.rejects(async () => {
                for await (const _ of results);
              }, /item 0 failed/);
            }
            assert.equal(await pool.apply(sqr, [3]), 9);
            const waited = performance.now() - started;
            assert.ok(waited < SIBLING_MS - 500, `the next call waited ${waited.toFixed(0)} ms`);
            await sleep(SIBLING_MS + 2000 - (performance.now() - started));
            assert.deepEqual(written(file), [], 'siblings of the failed call ran on');
          });
        });
      });
    }

    it('leaves the other calls on the pool untouched', { timeout: 30_000 }, async () => {
      await withDir(async (file) => {
        await withPool({ processes: 2, context }, async (pool) => {
          const others = pool.map(slowSqr, [1, 2, 3, 4, 5, 6], 1);
          await assert.rejects(pool.map(failFirst, items(file, 10, 200), 1), /item 0 failed/);
          assert.deepEqual(await others, [1, 4, 9, 16, 25, 36]);
        });
      });
    });

    it('a break out of imap stops its running tasks', { timeout: 30_000 }, async () => {
      await withDir(async (file) => {
        await withPool({ processes: 2, context }, async (pool) => {
          const started = performance.now();
          const results = pool.imap(failFirst, items(file, 20, SIBLING_MS, 1), 1);
          // By then both workers run one (loading the module first takes a few hundred ms under tsx).
          const first = await Promise.race([results.next(), sleep(1500).then(() => 'pending' as const)]);
          assert.equal(first, 'pending');
          await results.return?.();
          assert.equal(await pool.apply(sqr, [4]), 16);
          await sleep(SIBLING_MS + 2000 - (performance.now() - started));
          assert.deepEqual(written(file), [], 'tasks of the broken-off imap ran on');
        });
      });
    });
  });
}
