// Keeps bullmq and ioredis unloaded for local pools: the Redis executor is imported on first use, and calls
// made meanwhile are replayed in order once it is there.
import type { ChunkJob, Executor, ExecutorHooks } from '../executor.js';
import type { ResolvedRedisOptions } from '../options.js';

type Call = (executor: Executor) => unknown;

export class LazyRedisExecutor implements Executor {
  readonly size: number;
  #executor: Executor | null = null;
  #failed: Error | null = null;
  #pending: Call[] = [];
  readonly #ready: Promise<void>;

  constructor(size: number, options: ResolvedRedisOptions, hooks: ExecutorHooks) {
    this.size = size;
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

  submit(job: ChunkJob): void {
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
