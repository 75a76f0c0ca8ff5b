// Workers killed from outside while they start are replaced, with backoff, and the pool goes on; a backoff
// never keeps the process alive once the pool is done with.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { Pool } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { backoffMs } from '../src/runtime/backoff.js';
import { LocalExecutor, type Spawn } from '../src/runtime/local.js';
import { meet, workerPid } from './fixtures/tasks.js';
import { sleep } from './helpers.js';

/** The PIDs of this process's live worker processes (its other children, such as tsx's esbuild, left out). */
function children(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      // A forked child has its worker environment once it has exec'd Node.
      if (readFileSync(`/proc/${name}/environ`, 'utf8').includes('MPOOL_WORKER=')) pids.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** SIGKILLs every new child of this process as soon as it appears, `count` of them; resolves with when, each. */
async function killNewChildren(known: Set<number>, count: number, deadline: number): Promise<number[]> {
  const killed: number[] = [];
  while (killed.length < count && Date.now() < deadline) {
    for (const pid of children()) {
      if (known.has(pid)) continue;
      known.add(pid);
      process.kill(pid, 'SIGKILL');
      killed.push(performance.now());
    }
    await sleep(2);
  }
  return killed;
}

/**
 * An executor of `processes` workers that are all killed by a signal before they start, as from outside.
 * `spawns()` counts the workers it started.
 */
function doomedExecutor(processes: number): { executor: LocalExecutor; spawns: () => number } {
  let spawns = 0;
  const spawn: Spawn = (_id, events) => {
    spawns++;
    let gone = false;
    const die = (): void => {
      if (gone) return;
      gone = true;
      events.exit({
        exitCode: null,
        signal: 'SIGKILL',
        kind: 'signal',
        reason: 'the worker process was killed by SIGKILL',
      });
    };
    setImmediate(die);
    return {
      send: () => {},
      kill: () => setImmediate(die),
      keepAlive: () => {},
      sharesMemory: false,
      readsAnyDepth: false,
    };
  };
  const executor = new LocalExecutor(
    resolveOptions({ processes, context: 'process' }).executor,
    { pool: 0, settle: () => {}, fatal: (error) => assert.fail(error) },
    spawn,
  );
  return { executor, spawns: () => spawns };
}

describe('start-up backoff', () => {
  it('waits 0, 50, 100, 200 … ms before each replacement of a worker that died while starting, at most 2 s', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 20].map(backoffMs),
      [0, 50, 100, 200, 400, 800, 1600, 2000, 2000],
    );
  });

  it('workers that die as they start are replaced ever more slowly, not in a loop', async () => {
    const { executor, spawns } = doomedExecutor(1);
    try {
      // Without backoff, a replacement a turn of the event loop: thousands in a second.
      await sleep(1000);
      assert.ok(spawns() <= 8, `${spawns()} workers started in a second`);
      assert.ok(spawns() >= 3, `${spawns()} workers started in a second`);
    } finally {
      await executor.terminate();
    }
  });

  it('terminate() and close() during a backoff end at once, and no worker starts after them', async () => {
    for (const end of ['terminate', 'close'] as const) {
      const { executor, spawns } = doomedExecutor(2);
      // Long enough that the delays have grown to hundreds of milliseconds.
      await sleep(600);
      const started = Date.now();
      await (end === 'terminate' ? executor.terminate() : executor.close());
      assert.ok(Date.now() - started < 1500, `${end}() took ${Date.now() - started} ms`);
      const before = spawns();
      await sleep(2500);
      assert.equal(spawns(), before, `workers started after ${end}()`);
    }
  });
});

describe('workers killed while starting (process)', () => {
  it('five replacements SIGKILLed from outside as they start: replaced again, and the map completes', async () => {
    const pool = new Pool({ processes: 2, context: 'process', retries: 10 });
    try {
      const first = new Set(await pool.map(workerPid, [50, 50]));
      const known = new Set(children());
      assert.equal(known.size, 2, `children: ${[...known].join(' ')}`);
      const victim = [...first][0]!;
      // The map runs on the other worker; the killed one's replacements are killed in turn as they start.
      const results = pool.map(workerPid, Array(20).fill(20), 1);
      process.kill(victim, 'SIGKILL');
      const killed = await killNewChildren(known, 5, Date.now() + 60_000);
      assert.equal(killed.length, 5);
      // The first replaced a worker that had started: no wait. Each after it replaced one that died while
      // starting: 0, 50, 100, then 200 ms later.
      const waited = killed[4]! - killed[0]!;
      assert.ok(waited >= 340, `five replacements in ${waited.toFixed(0)} ms`);
      const pids = await results;
      assert.equal(pids.length, 20);
      // The last replacement comes after its backoff: two tasks that need two workers at once meet, though
      // submitted while one worker is still missing.
      const place = join(mkdtempSync(join(tmpdir(), 'mpool-backoff-')), 'meet');
      try {
        assert.deepEqual(
          await pool.starmap(
            meet,
            [
              [place, 15_000],
              [place, 15_000],
            ],
            1,
          ),
          [1, 1],
        );
      } finally {
        rmSync(dirname(place), { recursive: true, force: true });
      }
    } finally {
      await pool.terminate();
    }
  });
});
