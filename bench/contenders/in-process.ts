// The baseline: the same functions called directly in this thread, one after another (Array.prototype.map
// for map). apply runs synchronously at submission, so N applies take the serial time.
import { WORK } from '../workers/work.mjs';
import type { Contender } from './types.js';

const call = (name: keyof typeof WORK, arg: unknown): unknown => (WORK[name] as (x: unknown) => unknown)(arg);

export const contender: Contender = {
  create() {
    return {
      apply: (name, arg) => Promise.resolve(call(name, arg)),
      map: async (name, items) => items.map(WORK[name] as (x: unknown) => unknown),
      async *imap(name, items) {
        for (const item of items) yield call(name, item);
      },
      close: async () => {},
    };
  },
};
