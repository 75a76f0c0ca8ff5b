// Chooses the executor for a pool's options; the Pool never names a runtime itself.
import type { Executor, ExecutorHooks } from '../executor.js';
import type { ResolvedPoolOptions } from '../options.js';
import { LazyRedisExecutor } from '../redis/lazy.js';
import { LocalExecutor } from './local.js';
import { spawnProcess } from './process.js';
import { spawnThread } from './thread.js';

export function createExecutor(options: ResolvedPoolOptions, hooks: ExecutorHooks): Executor {
  if (options.redis) return new LazyRedisExecutor(options.executor.size, options.redis, hooks);
  switch (options.context) {
    case 'thread':
      return new LocalExecutor(options.executor, hooks, spawnThread);
    case 'process':
      return new LocalExecutor(options.executor, hooks, spawnProcess);
    default: {
      const never: never = options.context;
      throw new TypeError(`Unknown context ${String(never)}`);
    }
  }
}
