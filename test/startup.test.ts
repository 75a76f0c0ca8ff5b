// Workers that cannot start: the error says so, with what the worker wrote, and is not an InitializerError.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InitializerError, Pool, WorkerLostError } from '../src/index.js';

const preload = fileURLToPath(new URL('./fixtures/cannot-start.cjs', import.meta.url));

describe('workers that die while starting', () => {
  it('a child that exits while starting, time after time, ends the pool with WorkerLostError and its stderr', async () => {
    const before = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = `--require ${preload}`;
    const pool = new Pool({ processes: 1, context: 'process' });
    try {
      const err = await pool.map((x: number) => x + 1, [1]).catch((e: unknown) => e);
      assert.ok(err instanceof WorkerLostError, String(err));
      assert.ok(!(err instanceof InitializerError));
      assert.match(
        err.message,
        /workers exit while starting, 3 in a row: the worker process exited with code 1/,
      );
      assert.match(err.message, /this worker cannot start here/);
    } finally {
      if (before === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = before;
      await pool.terminate();
    }
  });
});
