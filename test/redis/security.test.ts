// Security on Redis: tasks by name only, signed inline functions, size caps, passwords and TLS.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Job, Queue } from 'bullmq';
import { Pool, RedisUnavailableError, TaskRefusedError } from '../../src/index.js';
import { sign } from '../../src/redis/wire.js';
import { sqr } from '../fixtures/tasks.js';
import { freePort, type NodeProcess, RedisServer, SECRET, startNode } from './fixtures/harness.js';
import { hiddenTask, notOnNodes } from './fixtures/unknown.js';

const PASSWORD = 'p@ss word/with:odd chars';
let server: RedisServer;
const nodes: NodeProcess[] = [];
const pools: Pool[] = [];
let url: string;

function pool(queue: string, extra: Record<string, unknown> = {}): Pool {
  const created = new Pool({ redis: url, queue, processes: 2, redisTimeout: 20_000, ...extra });
  pools.push(created);
  return created;
}

async function node(
  queue: string,
  flags: string[] = [],
  env: Record<string, string> = {},
): Promise<NodeProcess> {
  const started = await startNode({ url, queue, processes: 1, flags, env });
  nodes.push(started);
  return started;
}

describe('security on Redis', { timeout: 120_000 }, () => {
  before(async () => {
    server = await RedisServer.start(['--requirepass', PASSWORD]);
    url = `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}`;
    await Promise.all([
      node('by-name'),
      node('inline', ['--allow-inline'], { MPOOL_SECRET: SECRET }),
      node('capped', ['--max-payload', '4096']),
    ]);
  });

  after(async () => {
    await Promise.all(pools.map((p) => p.terminate()));
    await Promise.all(nodes.map((n) => n.stop()));
    await server.stop();
  });

  it('connects with a password, and a wrong password fails clearly instead of hanging', async () => {
    assert.deepEqual(await pool('by-name').map(sqr, [1, 2, 3]), [1, 4, 9]);
    const wrong = new Pool({
      redis: `redis://:nope@127.0.0.1:${server.port}`,
      queue: 'by-name',
      redisTimeout: 1500,
    });
    pools.push(wrong);
    await assert.rejects(wrong.map(sqr, [1]), (err: unknown) => {
      assert.ok(err instanceof RedisUnavailableError);
      assert.doesNotMatch(err.message, /nope/, 'the password must not appear in messages');
      return true;
    });
  });

  it('a node runs only tasks of its modules, by name; others fail at once with TaskRefusedError', async () => {
    const p = pool('by-name');
    await assert.rejects(p.map(notOnNodes, [1]), (err: unknown) => {
      assert.ok(err instanceof TaskRefusedError);
      assert.match(err.message, /no task named `notOnNodes`/);
      return true;
    });
    await assert.rejects(p.map(hiddenTask(), [1]), (err: unknown) => {
      assert.ok(err instanceof TaskRefusedError);
      assert.match(err.message, /not a named export/);
      return true;
    });
  });

  it('inline functions: refused without a secret, without --allow-inline, or with another secret', async () => {
    await assert.rejects(
      pool('inline').map((x: number) => x + 1, [1]),
      TaskRefusedError,
    );
    await assert.rejects(
      pool('by-name', { secret: SECRET }).map((x: number) => x + 1, [1]),
      (err: unknown) => {
        assert.ok(err instanceof TaskRefusedError);
        assert.match(err.message, /refuses inline functions/);
        return true;
      },
    );
    await assert.rejects(
      pool('inline', { secret: 'another-secret-0123456789' }).map((x: number) => x + 1, [1]),
      (err: unknown) => {
        assert.ok(err instanceof TaskRefusedError);
        assert.match(err.message, /not signed with this node's secret/);
        return true;
      },
    );
    assert.deepEqual(await pool('inline', { secret: SECRET }).map((x: number) => x + 1, [1, 2]), [2, 3]);
  });

  it('a task whose module differs between submitter and node is refused, naming both versions', async () => {
    // Two versions of one module, in the repository so that they can import mpool's sources.
    const dir = mkdtempSync(join(import.meta.dirname, 'fixtures', 'versions-'));
    try {
      const versions = [1, 2].map((n) => {
        mkdirSync(join(dir, `v${n}`));
        const file = join(dir, `v${n}`, 'tasks.ts');
        writeFileSync(
          file,
          "import { task } from '../../../../../src/index.js';\n" +
            `export const versioned = task(import.meta.url, (x: number) => x + ${n});\n`,
        );
        return file;
      });
      await node('pinned', ['--tasks', versions[1]!]);
      const v1 = (await import(pathToFileURL(versions[0]!).href)) as { versioned: (x: number) => number };
      const v2 = (await import(pathToFileURL(versions[1]!).href)) as { versioned: (x: number) => number };
      const hash = (file: string) =>
        createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);
      const p = pool('pinned');
      await assert.rejects(p.map(v1.versioned, [1, 2]), (err: unknown) => {
        assert.ok(err instanceof TaskRefusedError, String(err));
        assert.match(err.message, /`versioned` differs between its submitter and this node/);
        assert.ok(err.message.includes(`version ${hash(versions[0]!)}`), err.message);
        assert.ok(err.message.includes(`is ${hash(versions[1]!)}`), err.message);
        return true;
      });
      // The same module on both sides runs.
      assert.deepEqual(await p.map(v2.versioned, [1, 2]), [3, 4]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a job forged in Redis is refused, and nothing in it is evaluated', async () => {
    const connection = { host: '127.0.0.1', port: server.port, password: PASSWORD };
    const queue = new Queue('inline', { connection });
    // Poll the stored job rather than wait on QueueEvents, which can miss an event (BullMQ #2517).
    const failedReason = async (id: string): Promise<string> => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const job = await Job.fromId(queue, id);
        if (job?.failedReason) return job.failedReason;
        if (job && (await job.isCompleted())) return 'completed';
        assert.ok(Date.now() < deadline, `job ${id} did not finish within 15 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      const base = { v: 1 as const, star: false, base: 0, timeout: null, retries: 0 };
      const signedItems = Buffer.from([]).toString('base64');
      const signed = { ...base, items: signedItems, fn: { name: 'f', source: '(x) => x' } };
      const forged = [
        // A valid signature for other code.
        {
          ...base,
          items: signedItems,
          fn: { kind: 'inline', name: 'f', source: '(x) => process.exit(9)', sig: sign(SECRET, signed) },
        },
        // No signature at all; items that are not what they claim.
        {
          ...base,
          items: 'not base64 v8 data',
          fn: { kind: 'inline', name: 'f', source: '(x) => x', sig: '' },
        },
        { v: 1, fn: { kind: 'name', name: 'sqr' }, items: { $eval: 'process.exit(9)' } },
        { hello: 'world' },
      ];
      for (const [i, data] of forged.entries()) {
        await queue.add('chunk', data, { jobId: `forged-${i}` });
        assert.match(await failedReason(`forged-${i}`), /refused|not an mpool chunk/);
      }
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
    // The node is still there and still works.
    assert.deepEqual(await pool('inline', { secret: SECRET }).map((x: number) => x * 3, [1]), [3]);
  });

  it('payloads over the cap are refused by the submitter, and by a node with a smaller cap', async () => {
    const big = 'x'.repeat(10_000);
    await assert.rejects(
      pool('by-name', { maxPayloadBytes: 2048 }).map(sqr, [big as never]),
      (err: unknown) => {
        assert.ok(err instanceof TaskRefusedError);
        assert.match(err.message, /over the 2048-byte cap/);
        return true;
      },
    );
    await assert.rejects(pool('capped').map(sqr, [big as never]), (err: unknown) => {
      assert.ok(err instanceof TaskRefusedError);
      assert.match(err.message, /over the 4096-byte cap/);
      return true;
    });
  });

  it('connects over TLS (rediss://) with a CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpool-tls-'));
    let tlsServer: RedisServer | null = null;
    try {
      try {
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-days',
            '1',
            '-subj',
            '/CN=127.0.0.1',
            '-addext',
            'subjectAltName=IP:127.0.0.1',
            '-keyout',
            join(dir, 'key.pem'),
            '-out',
            join(dir, 'cert.pem'),
          ],
          { stdio: 'ignore' },
        );
      } catch (err) {
        throw new Error('openssl is needed to make the test certificate (.ci/run installs it when missing)', {
          cause: err,
        });
      }
      const tlsPort = await freePort();
      tlsServer = await RedisServer.start([
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        join(dir, 'cert.pem'),
        '--tls-key-file',
        join(dir, 'key.pem'),
        '--tls-ca-cert-file',
        join(dir, 'cert.pem'),
        '--tls-auth-clients',
        'no',
      ]);
      const tlsUrl = `rediss://127.0.0.1:${tlsPort}`;
      const tlsNode = await startNode({
        url: tlsUrl,
        queue: 'tls',
        processes: 1,
        flags: ['--tls-ca', join(dir, 'cert.pem')],
      });
      nodes.push(tlsNode);
      assert.match(tlsNode.output, /rediss:\/\/127\.0\.0\.1/);
      const p = new Pool({
        redis: { url: tlsUrl, tls: { ca: readFileSync(join(dir, 'cert.pem'), 'utf8') } },
        queue: 'tls',
      });
      pools.push(p);
      assert.deepEqual(await p.map(sqr, [4, 5]), [16, 25]);
      await p.terminate();
      await tlsNode.stop();
    } finally {
      await tlsServer?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
