// Module tasks in plain ESM JavaScript.
import { task } from 'mpool';

let offset = 0;
export const setOffset = task(import.meta.url, (value) => {
  offset = value;
});
export const addOffset = task(import.meta.url, (x) => x + offset);
export const add = task(import.meta.url, (a, b) => a + b);
export const later = task(import.meta.url, async (x) => {
  await new Promise((resolve) => setTimeout(resolve, 2));
  return x * 10;
});
export const fails = task(import.meta.url, (x) => {
  throw new RangeError(`bad ${x}`);
});
