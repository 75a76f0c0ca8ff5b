// The local executor's run queue: chunks in submission order, behind a front lane for chunks that must go
// first (ones whose worker died before starting them, retries, and the rest of a batch that could not be
// sent).
import type { ChunkJob } from '../executor.js';

export class RunQueue {
  #queue: ChunkJob[] = [];
  #head = 0;
  #front: ChunkJob[] = [];

  get size(): number {
    return this.#front.length + this.#queue.length - this.#head;
  }

  push(job: ChunkJob): void {
    this.#queue.push(job);
  }

  /** Queues a chunk ahead of everything submitted, after other such chunks. */
  pushFront(job: ChunkJob): void {
    this.#front.push(job);
  }

  /** Puts a chunk back at the very front (it was taken, but not sent). */
  putBack(job: ChunkJob): void {
    this.#front.unshift(job);
  }

  peek(): ChunkJob | undefined {
    return this.#front[0] ?? this.#queue[this.#head];
  }

  take(): ChunkJob | undefined {
    if (this.#front.length > 0) return this.#front.shift();
    if (this.#head === this.#queue.length) return undefined;
    const job = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as unknown as ChunkJob;
    // Drop the taken part now and then, so a long queue does not shift on every take.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return job;
  }

  /** Removes the chunks with these ids. */
  drop(ids: ReadonlySet<number>): void {
    this.#queue = this.#queue.slice(this.#head).filter((job) => !ids.has(job.id));
    this.#head = 0;
    this.#front = this.#front.filter((job) => !ids.has(job.id));
  }

  clear(): void {
    this.#queue = [];
    this.#head = 0;
    this.#front = [];
  }
}
