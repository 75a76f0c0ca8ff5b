// Issue 14: the initializer runs on every worker that starts, as Python's eager workers do, even on a pool
// closed before any task; join() then says if it threw.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InitializerError, Pool } from '../src/index.js';
import { traceInit } from './fixtures/tasks.js';
import { CONTEXTS } from './helpers.js';

function traces(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

for (const context of CONTEXTS) {
  describe(`the initializer of a pool closed at once (${context})`, () => {
    it('runs once in every worker before join() returns', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mpool-init-'));
      try {
        const file = join(dir, 'trace');
        const pool = new Pool({ processes: 2, context, initializer: traceInit, initargs: [file] });
        pool.close();
        await pool.join();
        const seen = traces(file);
        assert.equal(seen.length, 2, `traces: ${seen.join(', ')}`);
        assert.equal(new Set(seen).size, 2, 'each worker once');
        assert.equal(pool.state, 'closed');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('that throws makes join() reject with InitializerError', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mpool-init-'));
      try {
        const file = join(dir, 'trace');
        const pool = new Pool({ processes: 2, context, initializer: traceInit, initargs: [file, true] });
        pool.close();
        await assert.rejects(pool.join(), (error: Error) => {
          assert.ok(error instanceof InitializerError, `got ${error.name}: ${error.message}`);
          assert.match(String((error.cause as Error).message), /the initializer failed on purpose/);
          return true;
        });
        assert.ok(traces(file).length >= 1);
        // Asked again, join() says the same.
        await assert.rejects(pool.join(), InitializerError);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
