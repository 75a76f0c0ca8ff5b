// The one small interface every contender implements, so each scenario is written once for all of them.
import type { WorkName } from '../workers/work.mjs';

export interface Runner {
  /** One task, submitted on its own (mpool applyAsync, piscina run, workerpool exec, poolifier execute). */
  apply(name: WorkName, arg: unknown): PromiseLike<unknown>;
  /** A whole list, `chunksize` items per task, results in input order. */
  map(name: WorkName, items: unknown[], chunksize: number): Promise<unknown[]>;
  /** Ordered results over a possibly infinite iterable, reading input only as results are consumed. */
  imap(name: WorkName, items: Iterable<unknown>, chunksize: number): AsyncIterable<unknown>;
  /** Stops the pool; resolves once its workers are gone. */
  close(): Promise<void>;
}

export interface Contender {
  /** Starts a pool of `processes` workers. */
  create(processes: number): Runner | Promise<Runner>;
}
