import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { behave, sqr } from './fixtures/tasks.js';
import { CONTEXTS, withPool } from './helpers.js';

for (const context of CONTEXTS) {
  describe(`smoke (${context})`, () => {
    it('maps inline and module functions', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        assert.deepEqual(await pool.map((x: number) => x * x, [1, 2, 3, 4, 5]), [1, 4, 9, 16, 25]);
        assert.deepEqual(await pool.map(sqr, [1, 2, 3]), [1, 4, 9]);
        assert.equal(await pool.apply(behave, ['ok', 5]), 5);
      });
    });
  });
}
