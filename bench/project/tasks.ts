// The task module of the TypeScript start-up bench (bench/typescript.ts): typed, as a user's would be, and
// erasable, so Node 22.18+ and 24 can load it without tsx.
import { task } from 'mpool';

interface Scale {
  factor: number;
}

let scale: Scale = { factor: 1 };

export const setup = task(import.meta.url, (factor: number): void => {
  scale = { factor };
});

export const scaled = task(import.meta.url, (x: number): number => x * scale.factor);
