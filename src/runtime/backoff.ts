// Replacing workers that die while they start: each such death in a row waits longer before the next start,
// so a machine that kills workers as they appear (memory pressure, a supervisor) is not answered with a fork
// loop, and one that stops doing so soon gets its workers back.

const FIRST_DELAY_MS = 50;
const MAX_DELAY_MS = 2000;

/** The delay before starting a replacement after `deaths` start-up deaths in a row: 0, 50, 100, 200 … 2000. */
export function backoffMs(deaths: number): number {
  if (deaths <= 1) return 0;
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (deaths - 2));
}

/** Counts start-up deaths in a row and holds the timers of the replacements they delay. */
export class Backoff {
  #deaths = 0;
  #ref = false;
  readonly #timers = new Set<NodeJS.Timeout>();

  /** Replacements waiting for their delay. */
  get pending(): number {
    return this.#timers.size;
  }

  /** A worker started: the next death starts from no delay again. */
  started(): void {
    this.#deaths = 0;
  }

  /** A worker died while starting: calls `start` after this death's delay (at once, for the first in a row). */
  died(start: () => void): void {
    const ms = backoffMs(++this.#deaths);
    if (ms === 0) {
      start();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      start();
    }, ms);
    if (!this.#ref) timer.unref();
    this.#timers.add(timer);
  }

  /** Whether the waiting replacements keep the Node process alive: only while the pool has work for them. */
  keepAlive(yes: boolean): void {
    this.#ref = yes;
    for (const timer of this.#timers) yes ? timer.ref() : timer.unref();
  }

  /** Drops every waiting replacement: the pool no longer needs it. */
  clear(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
