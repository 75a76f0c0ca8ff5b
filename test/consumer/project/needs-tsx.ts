// A module Node cannot load by stripping types alone: an enum, and an import written as the compiled file.
import { task } from 'mpool';
import { base } from './helper.js';

enum Scale {
  Ten = 10,
}

export const scaled = task(import.meta.url, (x: number): number => x * Scale.Ten + base);
