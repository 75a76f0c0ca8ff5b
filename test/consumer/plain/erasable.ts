// A TypeScript task module with erasable types only: Node 22.18+ and 24 load it in a worker without tsx.
import { task } from 'mpool';

interface Offset {
  by: number;
}

const offset: Offset = { by: 100 };

export const shifted = task(import.meta.url, (x: number): number => x + offset.by);
