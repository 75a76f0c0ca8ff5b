import { task } from 'mpool';

enum Scale {
  Ten = 10,
}
export const scaled = task(import.meta.url, (x: number): number => x * Scale.Ten);
