// Call-site inference, checked by `tsc` (npm run typecheck): no generics written by hand.
import { expectTypeOf } from 'expect-type';
import { type AsyncResult, Pool, task } from '../src/index.js';

const pool = new Pool();
const sqr = task(import.meta.url, (x: number) => x * x);
const greet = task(import.meta.url, async (name: string, times: number) => name.repeat(times));

expectTypeOf(pool.mapAsync((x: number) => x * x, [1, 2, 3])).toEqualTypeOf<AsyncResult<number[]>>();
expectTypeOf(pool.map(sqr, [1, 2])).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(pool.map((s: string) => s.length, new Set(['a']))).toEqualTypeOf<Promise<number[]>>();
// Async functions resolve to their awaited result.
expectTypeOf(pool.apply(greet, ['a', 2])).toEqualTypeOf<Promise<string>>();
expectTypeOf(pool.applyAsync(greet, ['a', 2])).toEqualTypeOf<AsyncResult<string>>();
expectTypeOf(pool.apply(() => 1)).toEqualTypeOf<Promise<number>>();
expectTypeOf(pool.starmap(greet, [['a', 1] as [string, number]])).toEqualTypeOf<Promise<string[]>>();
expectTypeOf(pool.imap(sqr, [1])).toEqualTypeOf<AsyncIterableIterator<number>>();
expectTypeOf(pool.imapUnordered(async (x: number) => `${x}`, [1])).toEqualTypeOf<
  AsyncIterableIterator<string>
>();
// The callback sees the whole list.
pool.mapAsync(sqr, [1], {
  callback: (values) => expectTypeOf(values).toEqualTypeOf<number[]>(),
});
// settle: true gives each item's outcome, typed as Promise.allSettled's.
expectTypeOf(pool.map(sqr, [1], { settle: true })).toEqualTypeOf<Promise<PromiseSettledResult<number>[]>>();
expectTypeOf(pool.mapAsync(sqr, [1], { settle: true, chunksize: 2 })).toEqualTypeOf<
  AsyncResult<PromiseSettledResult<number>[]>
>();
expectTypeOf(pool.starmap(greet, [['a', 1] as [string, number]], { settle: true })).toEqualTypeOf<
  Promise<PromiseSettledResult<string>[]>
>();
expectTypeOf(pool.imap(sqr, [1], { settle: true })).toEqualTypeOf<
  AsyncIterableIterator<PromiseSettledResult<number>>
>();
expectTypeOf(pool.imapUnordered(sqr, [1], { settle: true, chunksize: 1 })).toEqualTypeOf<
  AsyncIterableIterator<PromiseSettledResult<number>>
>();
pool.mapAsync(sqr, [1], {
  settle: true,
  callback: (outcomes) => expectTypeOf(outcomes).toEqualTypeOf<PromiseSettledResult<number>[]>(),
});
// Without it (or with false), the plain results.
expectTypeOf(pool.map(sqr, [1], { settle: false })).toEqualTypeOf<Promise<number[]>>();

// A function's task() declaration keeps its type.
expectTypeOf(sqr).toEqualTypeOf<(x: number) => number>();

// Wrong argument types are compile errors.
// @ts-expect-error the items are strings, the function takes numbers
pool.map(sqr, ['a']);
// @ts-expect-error greet needs (string, number)
pool.apply(greet, ['a']);
// @ts-expect-error args are required when the function takes some
pool.apply(greet);
// @ts-expect-error starmap items must be argument tuples
pool.starmap(greet, [1, 2]);
