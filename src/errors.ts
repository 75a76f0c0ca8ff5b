/** Options every mpool error accepts: the underlying cause, as in `new Error(msg, { cause })`. */
export interface MpoolErrorOptions {
  cause?: unknown;
}

/** `AsyncResult.get(timeout)` ran out of time. The result is still pending and can be fetched later. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
  readonly timeout: number;
  constructor(timeout: number, options?: MpoolErrorOptions) {
    super(
      `The result was not ready within ${timeout} ms. It is still running: call get() again to keep waiting, or pass a signal to cancel it.`,
      options,
    );
    this.timeout = timeout;
  }
}

/** The pool cannot take this call in its current lifecycle state (closed, terminated, or join before close). */
export class PoolStateError extends Error {
  override name = 'PoolStateError';
  readonly state: string;
  constructor(message: string, state: string, options?: MpoolErrorOptions) {
    super(message, options);
    this.state = state;
  }
}

/** The pool's queue holds `maxQueue` tasks already: the pool is busy. Wait for room with `pool.ready()`. */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
  /** The pool's `maxQueue`. */
  readonly limit: number;
  /** Tasks waiting for a worker when this one was refused. */
  readonly length: number;
  constructor(limit: number, length: number) {
    super(
      `The pool is busy: ${length} task(s) wait for a worker, and its queue holds at most ${limit} (\`maxQueue\`). ` +
        'Try again later, wait for room with `await pool.ready()`, or raise `maxQueue`.',
    );
    this.limit = limit;
    this.length = length;
  }
}

/** `AsyncResult.successful()` was called before the result was ready. */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
  constructor() {
    super('The result is not ready yet: await get() or wait() before asking successful().');
  }
}

/**
 * What ended a worker, as one value (`reason` says it in words, with the details):
 * - `exit`: it exited by itself, for instance a task called `process.exit()`;
 * - `crash`: a task threw outside its call (from a timer, an unhandled rejection), or the worker failed;
 * - `out-of-memory`: it ran out of heap (`maxHeapMb`, or V8's own limit);
 * - `signal`: a signal from outside the pool killed it;
 * - `channel-closed`: a task closed its channel to the pool (`parentPort.close()`, `process.disconnect()`);
 * - `timeout`: the pool stopped it because a task on it ran past its `timeout`;
 * - `cancel`: the pool stopped it to cancel the task it ran (an AbortSignal, a failed map's siblings);
 * - `terminate`: the pool was terminated;
 * - `left-behind`: told to stop, it did not end, and the pool stopped waiting for it;
 * - `max-tasks`: it had run `maxtasksperchild` tasks;
 * - `idle`: an elastic pool stopped it for being idle beyond `minProcesses`;
 * - `close`: the pool was closed and its work was done;
 * - `start-failed`: workers keep exiting while they start (the pool then ends);
 * - `stalled`, `vanished`: on Redis, its node stopped answering, or its job disappeared from Redis.
 */
export type WorkerEnd =
  | 'exit'
  | 'crash'
  | 'out-of-memory'
  | 'signal'
  | 'channel-closed'
  | 'timeout'
  | 'cancel'
  | 'terminate'
  | 'left-behind'
  | 'max-tasks'
  | 'idle'
  | 'close'
  | 'start-failed'
  | 'stalled'
  | 'vanished';

/** What ended a worker: an exit code, a signal, or an error such as an uncaught exception or out of memory. */
export interface WorkerExit {
  exitCode: number | null;
  signal: string | null;
  /** What ended it, as one value: match on this, not on `reason`. */
  kind: WorkerEnd;
  /** What ended it, in words, for people. */
  reason: string;
  /** The last lines the worker wrote to stderr, where the runtime can tell (child processes). */
  stderr?: string | undefined;
  /**
   * Set when the worker did not end when told to, and the pool stopped waiting for it: names the worker left
   * running ("thread 12", "process 3456").
   */
  leftBehind?: string | undefined;
}

/**
 * The exit code of a worker whose channel to the pool closed under it (a task called parentPort.close() or
 * process.disconnect()): nothing it says can reach the pool any more, so its exit code says why it left.
 */
export const CHANNEL_CLOSED_EXIT_CODE = 86;
export const CHANNEL_CLOSED_REASON =
  'its channel to the pool was closed: a task called parentPort.close() or process.disconnect()';

/** The worker running this task died (exit, crash, out of memory, killed) before it returned a result. */
export class WorkerLostError extends Error {
  override name = 'WorkerLostError';
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** What ended the worker, as one value (see WorkerEnd). */
  readonly kind: WorkerEnd;
  readonly reason: string;
  constructor(exit: WorkerExit, options?: MpoolErrorOptions) {
    const how = [
      exit.exitCode !== null ? `exit code ${exit.exitCode}` : '',
      exit.signal ? `signal ${exit.signal}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    super(
      `The worker running this task was lost (${exit.reason}${how ? `; ${how}` : ''}). The pool replaced it. ` +
        'Pass `retries` to run lost tasks again, if your function is safe to run twice.',
      options,
    );
    this.exitCode = exit.exitCode;
    this.signal = exit.signal;
    this.kind = exit.kind;
    this.reason = exit.reason;
  }
}

/** A task ran longer than its `timeout`; its worker was stopped and replaced. */
export class TaskTimeoutError extends Error {
  override name = 'TaskTimeoutError';
  readonly timeout: number;
  constructor(timeout: number, options?: MpoolErrorOptions) {
    super(
      `The task ran for more than ${timeout} ms, counted from when it started, so its worker was stopped and replaced. ` +
        'Raise `timeout`, or split the work into smaller tasks.',
      options,
    );
    this.timeout = timeout;
  }
}

/** The call's AbortSignal fired: queued work was dropped and running work stopped. */
export class AbortError extends Error {
  override name = 'AbortError';
  readonly code = 'ABORT_ERR';
  constructor(
    message = 'The operation was aborted by its signal; queued work was dropped.',
    options?: MpoolErrorOptions,
  ) {
    super(message, options);
  }
}

/** An argument or a result could not be copied between threads or processes (structured clone). */
export class SerializationError extends Error {
  override name = 'SerializationError';
  /** Position of the offending item in the call's input. */
  readonly index: number;
  readonly direction: 'argument' | 'result';
  constructor(index: number, direction: 'argument' | 'result', reason: string, options?: MpoolErrorOptions) {
    super(
      `The ${direction} of item ${index} cannot be sent between workers: ${reason.replace(/\.+$/, '')}. ` +
        'Only structured-cloneable values (no functions, sockets or class instances with methods) can cross.',
      options,
    );
    this.index = index;
    this.direction = direction;
  }
}

/** The pool's `initializer` threw in a worker; the pool terminated itself. */
export class InitializerError extends Error {
  override name = 'InitializerError';
  constructor(options?: MpoolErrorOptions) {
    super(
      'The pool initializer failed in a worker, so the pool was terminated (Python would restart workers forever). ' +
        'See `cause` for the initializer error.',
      options,
    );
  }
}

/** A `callback` or `errorCallback` threw. The result rejects with this error instead of hanging. */
export class CallbackError extends Error {
  override name = 'CallbackError';
  readonly callback: 'callback' | 'errorCallback';
  constructor(callback: 'callback' | 'errorCallback', options?: MpoolErrorOptions) {
    super(
      `The ${callback} passed to this call threw; see \`cause\`. The pool itself is unaffected.`,
      options,
    );
    this.callback = callback;
  }
}

/** Formats a received value for an error message: `0` (number). */
export function received(value: unknown): string {
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown}\` (${type})`;
}

/** Redis stayed unreachable longer than `redisTimeout`; the pool gave up on its unfinished tasks. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
  /** The server, without its password. */
  readonly server: string;
  readonly downMs: number;
  constructor(server: string, downMs: number, options?: MpoolErrorOptions) {
    super(
      `Redis at ${server} was unreachable for ${Math.round(downMs)} ms, longer than \`redisTimeout\`, so the pool gave up on its unfinished tasks and was terminated. ` +
        'Check that Redis is running and reachable, or raise `redisTimeout` to ride out longer outages.',
      options,
    );
    this.server = server;
    this.downMs = downMs;
  }
}

/** A worker node refused a task: unknown task name, an unsigned or wrongly signed inline function, or a payload over the size cap. */
export class TaskRefusedError extends Error {
  override name = 'TaskRefusedError';
  readonly code = 'MPOOL_TASK_REFUSED';
  constructor(message: string, options?: MpoolErrorOptions) {
    super(message, options);
  }
}
