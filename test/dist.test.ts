// The built package, as users run it: `mpool` resolves to dist/, whose workers start from the bundled
// CommonJS entries (scripts/bundle.mjs). The other suites run src/ under tsx; this one checks that
// the bundles behave the same. `npm test` builds before it runs.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
// @ts-expect-error a plain-JS fixture without types, as a compiled user module would be
import { setOffset, triple } from './fixtures/formats/esm.mjs';

const require = createRequire(import.meta.url);
const cjs = require('./fixtures/formats/cjs.cjs') as { quadruple: (x: number) => number };
const cts = require('./fixtures/formats/typescript.cts') as { half: (x: number) => number };

for (const file of ['thread-entry.cjs', 'process-entry.cjs']) {
  const path = new URL(`../dist/worker/${file}`, import.meta.url);
  if (!existsSync(path)) throw new Error(`${path.pathname} is missing: run \`npm run build\` first`);
}
const mpool = await import('mpool');

for (const context of ['thread', 'process'] as const) {
  describe(`the built package (${context})`, () => {
    it('maps numbers and objects, and runs module tasks in ESM, CommonJS and TypeScript', async () => {
      const pool = new mpool.Pool({ processes: 2, context, initializer: setOffset, initargs: [10] });
      try {
        const xs = Array.from({ length: 5000 }, (_, i) => i);
        assert.deepEqual(
          await pool.map((x: number) => x * 2, xs, 100),
          xs.map((x) => x * 2),
        );
        assert.deepEqual(await pool.map((o: { a: number }) => ({ b: o.a + 1 }), [{ a: 1 }]), [{ b: 2 }]);
        assert.deepEqual(await pool.map(triple, [1, 2]), [13, 16]);
        assert.deepEqual(await pool.map(cjs.quadruple, [1, 2]), [4, 8]);
        // A TypeScript task module (tsx loads it).
        assert.deepEqual(await pool.map(cts.half, [3]), [1.5]);
      } finally {
        await pool.terminate();
      }
    });

    it('keeps an error class and its worker-side stack, and reports a dead worker', async () => {
      const pool = new mpool.Pool({ processes: 1, context });
      try {
        const err = await pool
          .apply(function failsInWorker() {
            throw new RangeError('out of range');
          })
          .catch((e: unknown) => e);
        assert.ok(err instanceof RangeError);
        assert.match((err as Error).stack ?? '', /failsInWorker/);
        const lost = await pool.apply(() => process.exit(3)).catch((e: unknown) => e);
        assert.ok(lost instanceof mpool.WorkerLostError);
        assert.equal((lost as InstanceType<typeof mpool.WorkerLostError>).exitCode, 3);
        assert.equal(await pool.apply((x: number) => x + 1, [1]), 2, 'the pool goes on');
      } finally {
        await pool.terminate();
      }
    });
  });
}

describe('a built thread worker starting', () => {
  // Each is a millisecond or more of a thread's start on Node 24; they load with the first module task.
  it('loads neither node:module nor node:url while its tasks are inline', async () => {
    const pool = new mpool.Pool({ processes: 1 });
    try {
      // Node's list of the built-in modules this thread has loaded (not in @types/node).
      const loaded = await pool.apply(() =>
        (process as unknown as { moduleLoadList: string[] }).moduleLoadList.filter((name) =>
          /^NativeModule (module|url)$/.test(name),
        ),
      );
      assert.deepEqual(loaded, []);
      assert.deepEqual(await pool.map(triple, [1]), [3], 'a module task still runs there');
    } finally {
      await pool.terminate();
    }
  });
});
