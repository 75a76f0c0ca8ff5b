// The `mpool worker` command: its arguments, what it prints, and a graceful stop that finishes or releases chunks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Pool } from '../../src/index.js';
import { CLI, type NodeProcess, RedisServer, ROOT, sleep, startNode } from './fixtures/harness.js';
import { nodePid } from './fixtures/tasks.js';

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, MPOOL_SECRET: '', ...env },
    timeout: 30_000,
  });
}

describe('mpool CLI', () => {
  it('prints usage, and refuses bad arguments with what it expected', () => {
    const help = run(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: mpool worker/);
    assert.equal(run(['worker', '--help']).status, 0);
    const unknown = run(['frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /expected a command \(worker\), got `"frobnicate"`/);
    const zero = run(['worker', '--tasks', 'x.ts', '--processes', '0']);
    assert.equal(zero.status, 1);
    assert.match(zero.stderr, /Expected `--processes` to be an integer >= 1, got `"0"` \(string\)/);
    const inline = run(['worker', '--tasks', 'x.ts', '--inline-under', 'soon']);
    assert.equal(inline.status, 1);
    assert.match(
      inline.stderr,
      /Expected `--inline-under` to be a number of milliseconds >= 0, got `"soon"` \(string\)/,
    );
    assert.match(run(['worker']).stderr, /at least one `--tasks FILE`/);
    assert.match(run(['worker', '--allow-inline']).stderr, /needs the shared secret/);
    assert.match(
      run(['worker', '--allow-inline'], { MPOOL_SECRET: 'short' }).stderr,
      /at least 16 characters/,
    );
    assert.match(run(['worker', '--tasks', 'x.ts', '--bogus']).stderr, /Unknown option '--bogus'/);
    assert.match(
      run(['worker', '--tasks', 'x.ts', '--redis', 'http://x']).stderr,
      /redis:\/\/ or rediss:\/\//,
    );
  });
});

describe('mpool worker on Redis', { timeout: 120_000 }, () => {
  let server: RedisServer;
  const nodes: NodeProcess[] = [];
  const pools: Pool[] = [];

  before(async () => {
    server = await RedisServer.start();
  });

  after(async () => {
    await Promise.all(pools.map((p) => p.terminate()));
    await Promise.all(nodes.map((node) => node.stop()));
    await server.stop();
  });

  it('prints what it does, and on SIGTERM finishes its running chunk, then exits 0', async () => {
    const node = await startNode({ url: server.url, queue: 'finish', processes: 1 });
    nodes.push(node);
    const started = await node.waitFor(/started/);
    assert.match(started, /queue "finish" on redis:\/\/127\.0\.0\.1:\d+, 1 thread/);
    assert.match(started, /tasks: .*nodePid.*; inline functions refused/);
    const pool = new Pool({ redis: server.url, queue: 'finish', processes: 1 });
    pools.push(pool);
    assert.equal(await pool.apply(nodePid), node.pid);
    await node.waitFor(/chunk \S+ done: 1 item\(s\) of nodePid/);
    const result = pool.apply(nodePid, [1500]);
    await sleep(600);
    node.kill('SIGTERM');
    await node.waitFor(/shutting down: 1 chunk\(s\) running/);
    assert.equal(await result, node.pid);
    await node.exited;
    assert.equal(node.child.exitCode, 0);
    assert.match(node.output, /stopped: 2 chunk\(s\) done, 0 failed/);
  });

  it('releases a chunk that outlives --grace, so another node runs it at once', async () => {
    const first = await startNode({
      url: server.url,
      queue: 'release',
      processes: 1,
      flags: ['--grace', '1'],
    });
    nodes.push(first);
    const pool = new Pool({ redis: server.url, queue: 'release', processes: 1 });
    pools.push(pool);
    const result = pool.apply(nodePid, [4000]);
    await sleep(600);
    first.kill('SIGTERM');
    const second = await startNode({ url: server.url, queue: 'release', processes: 1 });
    nodes.push(second);
    await first.waitFor(/releasing 1 running chunk\(s\) back to the queue/);
    await first.exited;
    assert.equal(first.child.exitCode, 0);
    // Released, not stalled: the other node ran it well before the lock (2 s) and stalled check would have.
    assert.equal(await result, second.pid);
    assert.doesNotMatch(second.output, /stalled/);
  });
});
