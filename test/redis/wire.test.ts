// What travels through Redis, in-process: options, URLs, signatures, payload checks and errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TaskRefusedError, TaskTimeoutError, WorkerLostError } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';
import { resolveConnection } from '../../src/redis/connection.js';
import {
  decodeFailure,
  decodeResult,
  encodeFailure,
  encodeResult,
  encodeValue,
  type JobData,
  parseJobData,
  plainNumbers,
  sign,
  verify,
} from '../../src/redis/wire.js';

const SECRET = 'unit-secret-0123456789';

describe('Redis options and URLs', () => {
  it('parses redis:// and rediss:// URLs, and never shows the password', () => {
    const conn = resolveConnection('rediss://user:p%40ss@example.com:6380/2');
    assert.equal(conn.host, 'example.com');
    assert.equal(conn.port, 6380);
    assert.equal(conn.username, 'user');
    assert.equal(conn.password, 'p@ss');
    assert.equal(conn.db, 2);
    assert.deepEqual(conn.tls, { servername: 'example.com' });
    assert.equal(conn.label, 'rediss://example.com:6380/2');
    assert.equal(resolveConnection({ url: 'redis://h', port: 7000, prefix: 'mine' }).label, 'redis://h:7000');
    assert.throws(
      () => resolveConnection('http://h'),
      /redis:\/\/ or rediss:\/\/ URL, got a URL with protocol `http:`/,
    );
    assert.throws(
      () => resolveConnection('redis://:secretpw@h:99999'),
      (err: Error) => !err.message.includes('secretpw'),
    );
    assert.throws(
      () => resolveConnection(42),
      /Expected `redis` to be a redis:\/\/ URL or connection options, got `42`/,
    );
  });

  it('validates the Redis pool options, p-queue style', () => {
    const resolved = resolveOptions({ redis: 'redis://127.0.0.1:1', queue: 'q', secret: SECRET });
    assert.equal(resolved.redis?.queue, 'q');
    assert.equal(resolved.redis?.maxPayloadBytes, 8 * 1024 * 1024);
    assert.equal(resolved.redis?.redisTimeout, 30_000);
    assert.equal(resolveOptions({}).redis, null);
    assert.throws(() => resolveOptions({ queue: 'q' }), /`queue` only applies with `redis`/);
    assert.throws(
      () => resolveOptions({ redis: 'redis://h', context: 'process' }),
      /`context` does not apply with `redis`/,
    );
    assert.throws(
      () => resolveOptions({ redis: 'redis://h', queue: 'a:b' }),
      /Expected `queue` to be a non-empty name without `:`, got `"a:b"` \(string\)/,
    );
    assert.throws(
      () => resolveOptions({ redis: 'redis://h', secret: 'short' }),
      /at least 16 characters, got a 5-character string/,
    );
    assert.throws(() => resolveOptions({ redis: 'redis://h', redisTimeout: 0 }), RangeError);
    assert.throws(
      () => resolveOptions({ redis: 'redis://h', maxPayloadBytes: 10 }),
      /Expected `maxPayloadBytes` to be an integer >= 1024, got `10` \(number\)/,
    );
  });

  it('a local pool does not load bullmq or ioredis', () => {
    // A resolve hook in a child process reports every bullmq/ioredis import while a local pool runs.
    const hook = `let port; export function initialize(d) { port = d.port; }
      export async function resolve(s, c, next) { if (/bullmq|ioredis/.test(s)) port.postMessage(s); return next(s, c); }`;
    const script = `
      import { register } from 'node:module';
      import { MessageChannel } from 'node:worker_threads';
      const { port1, port2 } = new MessageChannel();
      const seen = [];
      port1.on('message', (m) => seen.push(m));
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), { data: { port: port2 }, transferList: [port2] });
      const { Pool } = await import('./src/index.ts');
      const pool = new Pool({ processes: 1 });
      await pool.map((x) => x, [1]);
      await pool.terminate();
      await new Promise((r) => setTimeout(r, 100));
      port1.close();
      console.log(JSON.stringify(seen));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout.trim().split('\n').pop() ?? ''), []);
  });
});

describe('Redis wire format', () => {
  const job = (fn: JobData['fn'], items: unknown[] = [1, 2]): JobData => ({
    v: 1,
    fn,
    star: false,
    base: 0,
    timeout: null,
    retries: 0,
    items: encodeValue(items),
  });

  it('signatures bind the source and the whole chunk', () => {
    const unsigned = job({ kind: 'name', name: 'f' });
    const sig = sign(SECRET, { ...unsigned, fn: { name: 'f', source: '(x) => x' } });
    const signed = { ...unsigned, fn: { kind: 'inline' as const, name: 'f', source: '(x) => x', sig } };
    assert.ok(verify(SECRET, signed));
    assert.ok(!verify('another-secret-0123456', signed));
    assert.ok(!verify(SECRET, { ...signed, fn: { ...signed.fn, source: '(x) => 2 * x' } }));
    assert.ok(!verify(SECRET, { ...signed, items: encodeValue([1, 3]) }));
    assert.ok(!verify(SECRET, { ...signed, base: 5 }));
    assert.ok(!verify(SECRET, { ...signed, fn: { ...signed.fn, sig: '' } }));
    // Plain-number items, signed before BullMQ's JSON and verified after it.
    const numeric = { ...unsigned, items: [1, 2.5, 1e21] };
    const numericSig = sign(SECRET, { ...numeric, fn: { name: 'f', source: '(x) => x' } });
    const sent = {
      ...numeric,
      fn: { kind: 'inline' as const, name: 'f', source: '(x) => x', sig: numericSig },
    };
    assert.ok(verify(SECRET, JSON.parse(JSON.stringify(sent))));
    assert.ok(!verify(SECRET, { ...sent, items: [1, 2.5, 1e22] }));
  });

  it('refuses malformed jobs and payloads over the cap before decoding them', () => {
    assert.throws(() => parseJobData({ hello: 1 }, 1e6), TaskRefusedError);
    assert.throws(
      () => parseJobData({ ...job({ kind: 'name', name: 'f' }), items: 5 }, 1e6),
      /not an mpool chunk \(items\)/,
    );
    assert.throws(
      () => parseJobData({ ...job({ kind: 'eval' } as never) }, 1e6),
      /not an mpool chunk \(fn\)/,
    );
    const big = job({ kind: 'name', name: 'f' }, ['x'.repeat(5000)]);
    assert.throws(() => parseJobData(big, 2048), /over the 2048-byte cap/);
    assert.deepEqual(parseJobData(big, 1e6).fn, { kind: 'name', name: 'f' });
  });

  it('results round-trip as structured clones, within the cap', () => {
    const values = [undefined, 1n, new Map([[1, 2]]), -0];
    assert.deepEqual(decodeResult(encodeResult(values, 1e6), 1e6), values);
    assert.throws(() => encodeResult(['x'.repeat(5000)], 2048), TaskRefusedError);
    assert.throws(() => decodeResult({ v: 1, values: encodeValue(42) }, 1e6), /not a list/);
    assert.throws(() => decodeResult('nope', 1e6), /not an mpool result/);
  });

  it('numbers that JSON carries exactly travel as BullMQ JSON, the others as structured clones', () => {
    // Through JSON, as BullMQ stores a return value and hands it back.
    const viaRedis = (values: unknown[]) =>
      decodeResult(JSON.parse(JSON.stringify(encodeResult(values, 1e6))), 1e6);
    const plain = [0, 1, -2.5, 1e300, 2 ** 53 + 2, Number.MIN_VALUE];
    assert.deepEqual(encodeResult(plain, 1e6), { v: 1, numbers: plain });
    assert.deepEqual(viaRedis(plain), plain);
    for (const odd of [Number.NaN, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const values = [1, odd];
      assert.equal('values' in encodeResult(values, 1e6), true, String(odd));
      assert.deepEqual(viaRedis(values), values, String(odd));
    }
    assert.deepEqual(plainNumbers(new Float64Array([1, 2])), [1, 2]);
    assert.throws(() => encodeResult(Array(300).fill(1), 2048), /2400 bytes, over the 2048-byte cap/);
    assert.throws(() => decodeResult({ v: 1, numbers: [1, 'x'] }, 1e6), /not a list of numbers/);
    // Items too: plain numbers, or refused as not a chunk.
    const numeric = { ...job({ kind: 'name', name: 'f' }), items: [1, 2, 3] };
    assert.deepEqual(parseJobData(JSON.parse(JSON.stringify(numeric)), 1e6).items, [1, 2, 3]);
    assert.throws(() => parseJobData({ ...numeric, items: [1, null] }, 1e6), /not an mpool chunk \(items\)/);
    assert.throws(
      () => parseJobData({ ...numeric, items: Array(300).fill(1) }, 2048),
      /over the 2048-byte cap/,
    );
  });

  it('errors come back with class, fields, cause and stack; foreign failures still explain themselves', () => {
    const original = new TaskTimeoutError(5, { cause: new RangeError('inner') });
    const back = decodeFailure(encodeFailure(original)) as TaskTimeoutError;
    assert.ok(back instanceof TaskTimeoutError);
    assert.equal(back.timeout, 5);
    assert.ok(back.cause instanceof RangeError);
    assert.equal(back.stack, original.stack);
    const refused = decodeFailure(encodeFailure(new TaskRefusedError('no')));
    assert.ok(refused instanceof TaskRefusedError);
    assert.equal((refused as TaskRefusedError).code, 'MPOOL_TASK_REFUSED');
    assert.ok(decodeFailure('job stalled more than allowable limit') instanceof WorkerLostError);
    assert.match(String(decodeFailure('something else')), /The job failed in BullMQ: something else/);
  });

  it('an encoded error cannot swap the prototype of what it becomes', () => {
    const wire = {
      kind: 'error',
      ctor: 'Error',
      name: 'Error',
      message: 'm',
      stack: 's',
      props: JSON.parse('{"__proto__": {"polluted": true}, "code": "X"}'),
    };
    const err = decodeFailure(`Error: m\nmpool-wire:${encodeValue(wire)}`) as Error & { code?: string };
    assert.equal(Object.getPrototypeOf(err), Error.prototype);
    assert.equal(err.code, 'X');
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });
});
