// How functions travel: inline source (also under tsx), and module tasks in ESM, CommonJS, TypeScript and JS.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { isWorker, task } from '../src/index.js';
import { toFnRef } from '../src/task.js';
// @ts-expect-error a plain-JS fixture without types, as a compiled user module would be
import { setOffset, triple } from './fixtures/formats/esm.mjs';
import { early, late } from './fixtures/late-task.js';
import { sqr } from './fixtures/tasks.js';
import { CONTEXTS, withPool } from './helpers.js';

const require = createRequire(import.meta.url);
// CommonJS modules are loaded with require, as a CommonJS program would (see load.ts on Node 20).
const cjs = require('./fixtures/formats/cjs.cjs') as {
  quadruple: (x: number) => number;
  asyncNegate: (x: number) => Promise<number>;
};
const cts = require('./fixtures/formats/typescript.cts') as { half: (x: number) => number };

describe('task()', () => {
  it('returns the function itself, so it still works locally', () => {
    const local = (x: number) => x + 1;
    const declared = task(import.meta.url, local);
    assert.equal(declared, local);
    assert.equal(declared(1), 2);
    assert.equal(sqr(3), 9);
    assert.deepEqual(toFnRef(sqr), {
      kind: 'module',
      url: new URL('./fixtures/tasks.ts', import.meta.url).href,
      key: `${new URL('./fixtures/tasks.ts', import.meta.url).href}#0`,
    });
  });

  it('accepts __filename (a path) as well as import.meta.url', () => {
    const ref = toFnRef(cjs.quadruple);
    assert.equal(ref.kind, 'module');
    assert.match(ref.kind === 'module' ? ref.url : '', /^file:\/\/.*cjs\.cjs$/);
  });

  it('refuses what cannot travel, saying what was expected and received', () => {
    assert.throws(() => task('', (x: number) => x), /Expected `moduleUrl` to be import.meta.url/);
    assert.throws(
      () => task(import.meta.url, 5 as unknown as () => 1),
      /Expected `fn` to be a function, got `5` \(number\)/,
    );
    assert.throws(() => toFnRef(Math.max), /native or bound function `max`/);
    assert.throws(() => toFnRef(sqr.bind(null)), /native or bound function `bound `/);
    assert.throws(() => toFnRef(class Foo {}), /got the class `Foo`/);
  });

  it('isWorker is false in the main thread', () => {
    assert.equal(isWorker, false);
  });
});

for (const context of CONTEXTS) {
  describe(`functions in workers (${context})`, () => {
    it('module tasks in compiled ESM and CommonJS, and in CommonJS TypeScript', async () => {
      await withPool({ processes: 2, context, initializer: setOffset, initargs: [100] }, async (pool) => {
        assert.deepEqual(await pool.map(triple, [1, 2]), [103, 106]);
        assert.deepEqual(await pool.map(cjs.quadruple, [1, 2]), [4, 8]);
        assert.deepEqual(await pool.map(cjs.asyncNegate, [1, 2]), [-1, -2]);
        assert.deepEqual(await pool.map(cts.half, [3, 5]), [1.5, 2.5]);
      });
    });

    it('inline functions with nested functions and classes (tsx injects __name into their source)', async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        const result = await pool.apply(
          (n: number) => {
            function double(x: number) {
              return x * 2;
            }
            class Box {
              constructor(readonly v: number) {}
            }
            const inner = (x: number) => new Box(double(x)).v;
            return [inner(n), double.name, Box.name];
          },
          [21],
        );
        assert.deepEqual(result, [42, 'double', 'Box']);
      });
    });

    it('method shorthand and async functions travel inline', async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        const obj = {
          square(x: number) {
            return x * x;
          },
          async later(x: number) {
            return x + 1;
          },
        };
        assert.deepEqual(await pool.map(obj.square, [3]), [9]);
        assert.deepEqual(await pool.map(obj.later, [3]), [4]);
      });
    });

    it('a captured variable gets an error that names it and the fix', async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        const factor = 3;
        await assert.rejects(
          pool.map((x: number) => x * factor, [1]),
          (e: unknown) =>
            e instanceof ReferenceError &&
            /cannot use `factor` from the scope around them/.test(e.message) &&
            /task\(import\.meta\.url, fn\)/.test(e.message),
        );
      });
    });

    it('isWorker is true inside a worker', async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        const index = new URL('../src/index.ts', import.meta.url).href;
        assert.equal(await pool.apply(async (url: string) => (await import(url)).isWorker, [index]), true);
      });
    });

    it('a task not declared at the top level gets an error that says so', async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        assert.equal(await pool.apply(early), 'early');
        await assert.rejects(
          pool.apply(late!),
          /was not registered when the worker imported .*late-task\.ts\. Declare tasks .* at the top level/,
        );
      });
    });
  });
}
