// A worker that does not end when told to: the pool counts it as gone, replaces it and stops waiting for it.
import type { WorkerExit } from '../errors.js';

/**
 * How long a worker told to stop has to end before the pool stops waiting for it: for a thread, after
 * terminate(); for a process, after SIGKILL. A thread blocked in a system call (execSync, a read of a FIFO
 * with no writer) cannot be interrupted until that call returns, however long that is.
 */
export const STOP_GRACE_MS = 1000;

/** The exit a runtime reports for a worker it left running: `who` names it, `why` says what did not work. */
export function leftBehindExit(who: string, why: string): WorkerExit {
  return {
    exitCode: null,
    signal: null,
    kind: 'left-behind',
    reason: `the ${who} did not end ${STOP_GRACE_MS} ms after ${why}, so the pool left it behind`,
    leftBehind: who,
  };
}

/**
 * Says that a worker could not be stopped: it still runs, and a thread keeps this process from exiting
 * until its call returns, which the user must hear of. `because` is why the pool stopped it.
 */
export function warnLeftBehind(exit: WorkerExit, because: string | null): void {
  process.emitWarning(
    `mpool: a worker could not be stopped: ${exit.reason}${because ? ` (${because})` : ''}. ` +
      'It is probably blocked in a system call (execSync, a read that never returns), which a worker thread ' +
      'cannot be interrupted in. The pool replaced it and no longer waits for it; it ends when that call ' +
      'returns, and until then it can keep this process from exiting.',
    { type: 'MpoolWarning', code: 'MPOOL_WORKER_LEFT_BEHIND' },
  );
}
