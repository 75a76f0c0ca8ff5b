// Runs each of the seed's examples as a user would, in its own process, and checks what it prints.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

async function example(name: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${name}.ts`], {
    cwd: root,
    timeout: 60_000,
  });
  return stdout;
}

describe('the seed examples', () => {
  it('squares prints [1, 4, 9, 16, 25]', async () => {
    assert.equal((await example('squares')).trim(), '[ 1, 4, 9, 16, 25 ]');
  });

  it('large data doubles 1,000,000 items', async () => {
    const out = await example('large-data');
    assert.match(out, /^1000000$/m);
    assert.match(out, /^last value: 1999998$/m);
  });

  it('slow tasks take ceil(5 / workers) seconds, blocking or async', async () => {
    const out = await example('slow-tasks');
    const cpus = Number(/has (\d+) CPUs/.exec(out)?.[1]);
    const lines = [...out.matchAll(/^(blocking|async) sleep, (\d+) workers: (\[.*\]) in ([\d.]+) s$/gm)];
    assert.equal(lines.length, 4);
    const seconds = new Map<string, number>();
    for (const [, kind, workers, values, time] of lines) {
      assert.equal(values, '[1,4,9,16,25]');
      seconds.set(`${kind}/${workers}`, Number(time));
      // Each worker runs one 1-second task at a time: never faster than ceil(5 / workers) s, and (the wall
      // time includes starting the pool) always well under the 5 s that running them one by one would take.
      assert.ok(Number(time) >= Math.ceil(5 / Number(workers)) - 0.05, `${time} s with ${workers} workers`);
      assert.ok(Number(time) < 5, `${time} s with ${workers} workers: not parallel`);
    }
    for (const kind of ['blocking', 'async']) {
      const few = seconds.get(`${kind}/${cpus}`)!;
      const many = seconds.get(`${kind}/5`)!;
      if (cpus < 5) assert.ok(many < few, `${kind}: 5 workers took ${many} s, ${cpus} took ${few} s`);
    }
  });

  it('pool size uses cpuCount()', async () => {
    const out = await example('pool-size');
    const { availableParallelism } = await import('node:os');
    assert.match(out, new RegExp(`^processes: ${availableParallelism()}$`, 'm'));
    assert.match(out, /^\[ 1, 4, 9, 16, 25 \]$/m);
  });

  it('error callback: the seed form fails with TypeError, starmap with the division error', async () => {
    const out = await example('error-callback');
    assert.equal(
      out,
      [
        "The seed's version, map_async(divide, data):",
        "Error occurred: divide() missing 1 required positional argument: 'y'",
        "result.get() rejected with TypeError: divide() missing 1 required positional argument: 'y'",
        'The intended version, starmapAsync(divide, data):',
        'Error occurred: division by zero',
        'result.get() rejected with ZeroDivisionError: division by zero',
        'Without the zero, starmap returns every quotient:',
        '[ 5, 5 ]',
        'With settle: true, every item has its outcome:',
        '10 / 2 = 5',
        '5 / 0 failed: ZeroDivisionError: division by zero',
        '20 / 4 = 5',
        '',
      ].join('\n'),
    );
  });

  it('the observability example prints a per-worker table that adds up to the map', async () => {
    const out = await example('insight');
    assert.match(out, /^map of 40 items; the last is 1521$/m);
    assert.match(out, /^pool: 10 chunks done, 0 failed; task time median [\d.]+ ms$/m);
    const rows = [
      ...out.matchAll(/│\s+\d+\s+│\s+(\d+)\s+│\s+(\d+)\s+│\s+(\d+)\s+│\s+(\d+)\s+│\s+(-?\d+)\s+│/g),
    ];
    assert.equal(rows.length, 2, `one row per worker:\n${out}`);
    assert.equal(
      rows.reduce((n, row) => n + Number(row[2]), 0),
      10,
      'chunks',
    );
    assert.equal(
      rows.reduce((n, row) => n + Number(row[3]), 0),
      40,
      'items',
    );
    for (const row of rows)
      assert.ok(Number(row[4]) >= Number(row[3]) * 9, `busy ms of ${row[3]} items of 10 ms`);
    assert.match(out, /^no worker was lost$/m);
  });
});
