// Issue 13: join() and `await using` wait for the work already sent, never on someone reading an imap.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Pool } from '../src/index.js';
import { sqr } from './fixtures/tasks.js';
import { CONTEXTS } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/join-parent.ts', import.meta.url));

interface Report {
  left: string;
  pulled: number;
  rest: number[];
  error: string;
}

/** Runs the join fixture; a script left waiting on join() ends with code 13 (unsettled top-level await). */
async function run(context: string, how: string): Promise<Report> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, context, how], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (data: string) => (stdout += data));
  child.stderr.setEncoding('utf8').on('data', (data: string) => (stderr += data));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(
    code,
    0,
    `expected exit code 0, got ${code}; stdout: ${stdout}; stderr: ${stderr.slice(0, 500)}`,
  );
  return JSON.parse(stdout) as Report;
}

/** The imap yields what was computed (every item pulled but the one read first), then says the pool was joined. */
function assertCut(report: Report): void {
  const expected = Array.from({ length: report.pulled - 1 }, (_, i) => (i + 1) ** 2);
  assert.deepEqual(report.rest, expected, `expected the results computed by join(), got ${report.rest}`);
  assert.match(
    report.error,
    /^PoolStateError: The pool was joined/,
    `expected a PoolStateError, got ${report.error}`,
  );
}

for (const context of CONTEXTS) {
  describe(`join() and an unread imap (${context})`, () => {
    it('an imap read once and left: join() returns; the imap yields what was computed, then throws', async () => {
      const report = await run(context, 'join');
      assert.ok(
        report.pulled > 1 && report.pulled < 100,
        `expected the input read only ahead, got ${report.pulled}`,
      );
      assertCut(report);
    });

    it('await using with a throw in its block: the block is left, with the thrown error', async () => {
      const report = await run(context, 'using');
      assert.equal(report.left, 'thrown in the block');
      assertCut(report);
    });

    it("Python's pattern is unchanged: close(), read to the end, join()", async () => {
      const pool = new Pool({ processes: 2, context });
      try {
        const results = pool.imap(sqr, [1, 2, 3, 4, 5, 6], { buffersize: 2 });
        pool.close();
        const seen: number[] = [];
        for await (const value of results) seen.push(value);
        await pool.join();
        assert.deepEqual(seen, [1, 4, 9, 16, 25, 36]);
      } finally {
        await pool.terminate();
      }
    });

    it('an imap whose input was read to the end before join() is not cut: it yields every result', async () => {
      const pool = new Pool({ processes: 2, context });
      try {
        const results = pool.imap(sqr, [1, 2, 3]);
        pool.close();
        await pool.join();
        const seen: number[] = [];
        for await (const value of results) seen.push(value);
        assert.deepEqual(seen, [1, 4, 9]);
      } finally {
        await pool.terminate();
      }
    });
  });
}
