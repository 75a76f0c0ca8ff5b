// Keeps bullmq and ioredis unloaded for local pools: the Redis executor is imported on first use, and calls
// made meanwhile are replayed in order once it is there.
import type { ChunkJob, Executor, ExecutorHooks } from '../executor.js';
import { type PoolStats, Tally } from '../insight/stats.js';
import type { ResolvedRedisOptions } from '../options.js';

type Call = (executor: Executor) => unknown;

// The chunks a map keeps in Redis at once: enough that every worker of every node has work waiting behind
// the chunk it runs, whatever the round trip to the submitter.
const WINDOW_MIN = 64;
const WINDOW_PER_WORKER = 8;

export class LazyRedisExecutor implements Executor {
  readonly size: number;
  /**
   * A map keeps at most this many chunks in Redis (queued, running, or finished and not yet read), so a map of
   * millions of items does not put all of its input in Redis before the first result. A map's default
   * chunksize makes 4 chunks per worker, so only a chosen smaller chunksize meets the limit.
   */
  readonly window: number;
  #executor: Executor | null = null;
  #failed: Error | null = null;
  #pending: Call[] = [];
  /** Chunks submitted before the Redis runtime was loaded. */
  #early = 0;
  readonly #ready: Promise<void>;

  constructor(size: number, options: ResolvedRedisOptions, hooks: ExecutorHooks) {
    this.size = size;
    this.window = Math.max(WINDOW_MIN, WINDOW_PER_WORKER * size);
    this.#ready = import('../runtime/redis.js').then(
      ({ RedisExecutor }) => {
        const executor = new RedisExecutor(size, options, hooks);
        this.#executor = executor;
        const pending = this.#pending;
        this.#pending = [];
        for (const call of pending) void call(executor);
      },
      (err: unknown) => {
        this.#failed = new Error(`mpool could not load its Redis runtime (bullmq, ioredis): ${String(err)}`, {
          cause: err,
        });
        hooks.fatal(this.#failed);
      },
    );
  }

  #run<T>(call: (executor: Executor) => T): void {
    if (this.#executor) call(this.#executor);
    else if (!this.#failed) this.#pending.push(call);
  }

  /** The nodes own their workers: as far as the submitter knows, `processes` of them. */
  get workers(): number {
    return this.size;
  }

  /** Chunks not yet running, as far as this submitter can tell without asking Redis: those beyond its workers. */
  get queued(): number {
    return this.#executor?.queued ?? this.#early - this.size;
  }

  stats(): Omit<PoolStats, 'runtime'> {
    if (this.#executor) return this.#executor.stats();
    // Not connected yet: what it was given, and none of it done.
    return { workers: [], queued: this.#early, sent: 0, running: 0, ...new Tally().snapshot(Date.now()) };
  }

  submit(job: ChunkJob): void {
    if (!this.#executor) this.#early++;
    this.#run((e) => e.submit(job));
  }

  cancel(ids: ReadonlySet<number>, stopRunning: boolean): void {
    this.#run((e) => e.cancel(ids, stopRunning));
  }

  async close(): Promise<void> {
    await this.#ready;
    await this.#executor?.close();
  }

  async terminate(): Promise<void> {
    await this.#ready;
    await this.#executor?.terminate();
  }
}
