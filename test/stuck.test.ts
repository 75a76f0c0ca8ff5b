// Issue 13: a worker that does not stop when told, or whose channel to the pool closes, never holds the pool.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Pool, TaskTimeoutError, WorkerLostError } from '../src/index.js';
import { blockInSyscall, closeChannel, sqr } from './fixtures/tasks.js';
import { assertFullSize, CONTEXTS, sleep, withPool } from './helpers.js';

// Generous on a noisy 2-core machine, and still far short of the 30 s sleep (a FIFO read never ends).
const BOUND_MS = 10_000;

/** Rejects unless `promise` settles within `ms`: a hang fails the test instead of stalling it. */
async function within<T>(promise: Promise<T>, what: string, ms = BOUND_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

type How = 'sleep' | 'fifo';

/**
 * Runs `body` with the paths blockInSyscall needs, then ends whatever it left blocked: the sleep, by its pid,
 * or the FIFO read, by opening the FIFO for writing (that fails at once when no reader is left). A stuck
 * thread holds this process open at exit until its call returns, so this matters beyond tidiness.
 */
async function withBlocker(how: How, body: (path: string, started: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mpool-stuck-'));
  const path = join(dir, how === 'sleep' ? 'sleep.pid' : 'fifo');
  if (how === 'fifo') execFileSync('mkfifo', [path]);
  try {
    await body(path, join(dir, 'started'));
  } finally {
    if (how === 'sleep' && existsSync(path)) {
      try {
        process.kill(Number(readFileSync(path, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (how === 'fifo') {
      try {
        closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // no reader left
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Collects the process's warnings while `body` runs. */
async function collectWarnings(body: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(`${w.name}: ${w.message}`);
  };
  process.on('warning', onWarning);
  try {
    await body();
    await sleep(10); // warnings are emitted on the next tick
  } finally {
    process.off('warning', onWarning);
  }
  return warnings;
}

/**
 * Waits until the task is blocked: it writes `started` just before its call, and the sleep's shell writes its
 * pid from inside execSync. A FIFO read shows nothing, so it gets a moment more after `started`.
 */
async function blocked(started: string, how: How, path: string): Promise<void> {
  while (!existsSync(started) || (how === 'sleep' && !existsSync(path))) await sleep(20);
  await sleep(200);
}

/** A thread cannot be interrupted in a system call: the pool leaves it behind and says so. */
function assertWarned(context: string, warnings: string[]): void {
  if (context !== 'thread') return;
  assert.ok(
    warnings.some((w) => /^MpoolWarning: .*could not be stopped/.test(w) && /thread \d+/.test(w)),
    `warnings: ${JSON.stringify(warnings)}`,
  );
}

for (const context of CONTEXTS) {
  describe(`a worker blocked in a system call (${context})`, () => {
    for (const how of ['sleep', 'fifo'] as const) {
      it(`a task blocked in ${how} times out, the pool is at full size again, and terminate() returns`, async () => {
        await withBlocker(how, async (path, started) => {
          const warnings = await collectWarnings(async () => {
            const pool = new Pool({ processes: 2, context });
            try {
              await within(
                assert.rejects(
                  // Long enough for the task to reach its system call on a loaded machine (its imports
                  // go through tsx's hooks first): a timeout before that stops an ordinary worker.
                  pool.apply(blockInSyscall, [how, path, started], { timeout: 1500 }),
                  TaskTimeoutError,
                ),
                'the call rejects',
              );
              await within(assertFullSize(pool), 'the pool is at full size again');
            } finally {
              await within(pool.terminate(), 'terminate() returns');
            }
          });
          assertWarned(context, warnings);
        });
      });

      it(`terminate() returns while a task is blocked in ${how}, which fails with an error`, async () => {
        await withBlocker(how, async (path, started) => {
          const warnings = await collectWarnings(async () => {
            const pool = new Pool({ processes: 1, context });
            const call = pool.apply(blockInSyscall, [how, path, started]);
            call.catch(() => {});
            await within(blocked(started, how, path), 'the task starts');
            await within(pool.terminate(), 'terminate() returns');
            await within(assert.rejects(call), 'the call rejects');
          });
          assertWarned(context, warnings);
        });
      });
    }
  });

  describe(`a worker whose channel to the pool closes (${context})`, () => {
    it('is lost: its call rejects with WorkerLostError saying so, its other work runs elsewhere, later calls work', async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        const closing = pool.apply(closeChannel, []);
        // Sent to the same worker behind it, in the same batch: it never starts there.
        const behind = pool.map(sqr, [1, 2, 3], { chunksize: 1 });
        behind.catch(() => {}); // awaited below, unless the first assertion fails
        await within(
          assert.rejects(closing, (e) => e instanceof WorkerLostError && /channel/.test(e.reason)),
          'the call rejects',
        );
        assert.deepEqual(await within(behind, 'the work behind it completes'), [1, 4, 9]);
        assert.equal(await within(pool.apply(sqr, [5]), 'a later call completes'), 25);
      });
    });

    it('leaves the pool at full size', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        await within(assert.rejects(pool.apply(closeChannel, []), WorkerLostError), 'the call rejects');
        await within(assertFullSize(pool), 'the pool is at full size again');
      });
    });
  });
}
