// The floor for a map over objects: the copy itself. structuredClone of the input and of the results, the
// same copies a pool makes to reach a worker and back, with the work between them done in this thread.
import { WORK } from '../workers/work.mjs';
import type { Contender } from './types.js';

export const contender: Contender = {
  create() {
    const refuse = (): never => {
      throw new Error('structured-clone is a floor for map only');
    };
    const call = (name: keyof typeof WORK, arg: unknown): unknown =>
      (WORK[name] as (x: unknown) => unknown)(arg);
    return {
      // Only for the warm-up's readiness check: the work itself runs in this thread.
      apply: async (name, arg) => call(name, arg),
      map: async (name, items) =>
        structuredClone(structuredClone(items).map(WORK[name] as (x: unknown) => unknown)),
      imap: refuse,
      close: async () => {},
    };
  },
};
