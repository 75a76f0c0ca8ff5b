// Refers to the task of typed.ts by its URL without loading it here, as a pool does when another process
// declared it: the worker must load the .ts file.
import { task } from 'mpool';

export const scaled = task(new URL('./typed.ts', import.meta.url), (x) => x);
