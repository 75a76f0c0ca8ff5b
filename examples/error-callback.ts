// Seed example 5: error_callback. The seed maps divide over (x, y) tuples, so every call gets ONE argument:
// in Python each item fails with TypeError, error_callback fires once, and result.get() raises that TypeError.
// starmap spreads each tuple into divide(x, y); then only (5, 0) fails, with the division error. With
// settle: true, the call keeps the two quotients and reports the division error in its place.
import { Pool } from 'mpool';
import { runIfMain } from './run-main.js';
import { divide } from './tasks.js';

const errorHandler = (e: unknown): void => {
  console.log(`Error occurred: ${(e as Error).message}`);
};

function show(error: unknown): string {
  const e = error as Error;
  return `${e.name}: ${e.message}`;
}

export async function main(): Promise<void> {
  const data: Array<[number, number]> = [
    [10, 2],
    [5, 0],
    [20, 4],
  ];

  console.log("The seed's version, map_async(divide, data):");
  const pool = new Pool();
  // @ts-expect-error mapAsync passes each tuple as ONE argument; the types catch the seed's mistake.
  const seedResult = pool.mapAsync(divide, data, { errorCallback: errorHandler });
  await seedResult.get().then(
    (values) => console.log(values),
    (error) => console.log(`result.get() rejected with ${show(error)}`),
  );

  console.log('The intended version, starmapAsync(divide, data):');
  const result = pool.starmapAsync(divide, data, { errorCallback: errorHandler });
  pool.close();
  await pool.join();
  await result.get().then(
    (values) => console.log(values),
    (error) => console.log(`result.get() rejected with ${show(error)}`),
  );

  console.log('Without the zero, starmap returns every quotient:');
  await using second = new Pool();
  console.log(
    await second.starmap(divide, [
      [10, 2],
      [20, 4],
    ]),
  );

  // What the seed wanted from error_callback: the good results and the errors, each in its place.
  console.log('With settle: true, every item has its outcome:');
  const outcomes = await second.starmap(divide, data, { settle: true });
  for (const [i, outcome] of outcomes.entries()) {
    console.log(
      outcome.status === 'fulfilled'
        ? `${data[i]!.join(' / ')} = ${outcome.value}`
        : `${data[i]!.join(' / ')} failed: ${show(outcome.reason)}`,
    );
  }
}

await runIfMain(import.meta.url, main);
