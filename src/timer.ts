// Timers of any length: Node's setTimeout fires after 1 ms for any delay above 2^31 - 1 ms (about 24.8 days).

const MAX_DELAY_MS = 2 ** 31 - 1;

/** A pending call from `after()`. */
export interface Timer {
  clear(): void;
}

/**
 * Calls `fn` once `ms` milliseconds have passed, however many: a longer delay is waited out in steps Node can
 * time. `Infinity` never calls it (and holds no timer).
 */
export function after(ms: number, fn: () => void): Timer {
  let handle: NodeJS.Timeout | undefined;
  const wait = (left: number): void => {
    handle =
      left > MAX_DELAY_MS ? setTimeout(() => wait(left - MAX_DELAY_MS), MAX_DELAY_MS) : setTimeout(fn, left);
  };
  if (ms !== Number.POSITIVE_INFINITY) wait(ms);
  return { clear: () => clearTimeout(handle) };
}
