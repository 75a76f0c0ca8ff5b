// Module tasks in CommonJS TypeScript; the enum needs tsx even where Node strips types.
import { task } from 'mpool';

enum Scale {
  Ten = 10,
}
let offset = 0;

export const setOffset = task(__filename, (value: number): void => {
  offset = value;
});
export const addOffset = task(__filename, (x: number): number => x + offset);
export const add = task(__filename, (a: number, b: number): number => a + b);
export const later = task(__filename, async (x: number): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, 2));
  return x * Scale.Ten;
});
export const fails = task(__filename, (x: number): number => {
  throw new RangeError(`bad ${x}`);
});
