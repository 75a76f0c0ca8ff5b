// Issue 13's soak: 100,000 items sent one by one, with random deep values (returned and passed), random output
// and random worker deaths (threads end themselves once; child processes are SIGKILLed from outside every
// 150 ms). Every item settles exactly once, as its plan says: its value, or SerializationError for a deep
// value; and every line a worker wrote reaches the parent's stdout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONTEXTS } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/soak-parent.ts', import.meta.url));
const ITEMS = 100_000;

interface Summary {
  ok: number;
  serialization: number;
  lost: number;
  wrong: string[];
  twice: number[];
  missing: number;
  kills: number;
  expected: { log: number[]; deep: number; exit: number };
}

function soak(
  context: string,
  seed: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, context, String(ITEMS), String(seed)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // A soak that hangs is killed (its workers follow it) rather than holding the test run open.
    timeout: 200_000,
    killSignal: 'SIGKILL',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (data: string) => (stdout += data));
  child.stderr.setEncoding('utf8').on('data', (data: string) => (stderr = (stderr + data).slice(-4000)));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('soak: 100,000 items with random deep values, output and worker deaths', () => {
  for (const context of CONTEXTS) {
    it(`loses and duplicates nothing (${context})`, { timeout: 240_000 }, async () => {
      const seed = Date.now() % 100_000;
      const run = await soak(context, seed);
      const where = `seed ${seed}; exit code ${run.code}; stderr: ${run.stderr}`;
      assert.equal(run.code, 0, where);
      const line = run.stdout.split('\n').find((l) => l.startsWith('soak-summary '));
      assert.ok(line, `no summary line; ${where}`);
      const summary = JSON.parse(line.slice('soak-summary '.length)) as Summary;
      assert.deepEqual(summary.wrong, [], where);
      assert.deepEqual(summary.twice, [], where);
      assert.equal(summary.missing, 0, where);
      assert.equal(summary.serialization, summary.expected.deep, where);
      // retries: 20 re-runs what a death took; no item is that unlucky.
      assert.equal(summary.lost, 0, where);
      assert.equal(summary.ok + summary.serialization, ITEMS, where);
      // Workers really died: threads once per 'exit' item, children from outside.
      if (context === 'thread') assert.ok(summary.expected.exit > 0, where);
      else assert.ok(summary.kills > 0, where);
      // Every line written reaches stdout (a task re-run after its worker died may write its line twice).
      const written = new Set(
        run.stdout.split('\n').flatMap((l) => (l.startsWith('soak-line ') ? [Number(l.slice(10))] : [])),
      );
      const lost = summary.expected.log.filter((i) => !written.has(i));
      assert.deepEqual(lost, [], `lines lost; ${where}`);
      assert.ok(summary.expected.log.length > 0, where);
    });
  }
});
