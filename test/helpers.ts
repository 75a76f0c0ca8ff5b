// Shared test helpers: run one suite against every local runtime, and close pools whatever happens.
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ChunkJob } from '../src/executor.js';
import { Pool, type PoolOptions } from '../src/index.js';
import { barrier } from './fixtures/tasks.js';

export const CONTEXTS = ['thread', 'process'] as const;
export type Context = (typeof CONTEXTS)[number];

/** Runs `body` with a fresh pool and always terminates it, so a failing test leaves no workers behind. */
export async function withPool<T>(options: PoolOptions, body: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = new Pool(options);
  try {
    return await body(pool);
  } finally {
    await pool.terminate();
  }
}

/** The pool still has all its workers: `processes` tasks meet at a barrier, which needs that many at once. */
export async function assertFullSize(pool: Pool): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mpool-barrier-'));
  try {
    const file = join(dir, 'arrived');
    const ids = await pool.starmap(barrier, Array(pool.processes).fill([file, pool.processes]), 1);
    assert.equal(new Set(ids).size, pool.processes, `workers: ${ids.join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once `count` workers or more are there (a Pool's or an executor's stats()) and none is still
 * starting: a chunk sent to a thread still starting is taken back by the first one ready, by design.
 */
export async function workersUp(
  source: { stats(): { workers: readonly { state: string }[] } },
  count = 0,
): Promise<void> {
  for (;;) {
    const { workers } = source.stats();
    if (workers.length >= count && workers.every((worker) => worker.state !== 'starting')) return;
    await sleep(10);
  }
}

/** Whether a PID is gone (zombies count as gone: PID 1 here does not reap). */
/**
 * Starts a test fixture (under tsx) as a parent process of a pool, and reads the pids of its workers from
 * the first line it prints (a JSON array).
 */
export async function spawnParent(
  fixture: string,
): Promise<{ parent: ChildProcessByStdio<null, Readable, null>; pids: number[] }> {
  const script = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
  const parent = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    parent.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    parent.on('exit', () => reject(new Error(`parent exited early: ${out}`)));
  });
  return { parent, pids: JSON.parse(line) as number[] };
}

export async function processGone(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const { readFile } = await import('node:fs/promises');
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** An infinite generator of 0, 1, 2, … that counts how many items were pulled from it. */
export function countedNaturals(): { items: Generator<number>; pulled: () => number } {
  let pulled = 0;
  function* naturals(): Generator<number> {
    for (let i = 0; ; i++) {
      pulled++;
      yield i;
    }
  }
  return { items: naturals(), pulled: () => pulled };
}

/**
 * The fields a new chunk job starts with (see ChunkJob), for tests that build jobs by hand: its record's, and
 * an owner that hears nothing (those tests hear outcomes through the executor's settle hook).
 */
export const NEW_RECORD = {
  state: 'queued',
  worker: 0,
  attempts: 0,
  times: null,
  owner: { settle: () => {}, abort: () => {} },
} as const satisfies Pick<ChunkJob, 'state' | 'worker' | 'attempts' | 'times' | 'owner'>;
