// Module tasks in TypeScript, the way a user writes them.
import { task } from 'mpool';

let offset = 0;

export const setOffset = task(import.meta.url, (value: number): void => {
  offset = value;
});
export const addOffset = task(import.meta.url, (x: number): number => x + offset);
export const add = task(import.meta.url, (a: number, b: number): number => a + b);
export const later = task(import.meta.url, async (x: number): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, 2));
  return x * 10;
});
export const fails = task(import.meta.url, (x: number): number => {
  throw new RangeError(`bad ${x}`);
});
