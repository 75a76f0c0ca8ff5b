// The local executor's run queue: chunks in submission order, behind a front lane for chunks that must go
// first (ones whose worker died before starting them, retries, and the rest of a batch that could not be
// sent).
import type { ChunkRecord } from './ledger.js';

export class RunQueue {
  #queue: ChunkRecord[] = [];
  #head = 0;
  #front: ChunkRecord[] = [];

  get size(): number {
    return this.#front.length + this.#queue.length - this.#head;
  }

  push(job: ChunkRecord): void {
    this.#queue.push(job);
  }

  /** Queues a chunk ahead of everything submitted, after other such chunks. */
  pushFront(job: ChunkRecord): void {
    this.#front.push(job);
  }

  /** Puts a chunk back at the very front (it was taken, but not sent). */
  putBack(job: ChunkRecord): void {
    this.#front.unshift(job);
  }

  peek(): ChunkRecord | undefined {
    return this.#front[0] ?? this.#queue[this.#head];
  }

  take(): ChunkRecord | undefined {
    if (this.#front.length > 0) return this.#front.shift();
    if (this.#head === this.#queue.length) return undefined;
    const job = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as unknown as ChunkRecord;
    // Drop the taken part now and then, so a long queue does not shift on every take.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return job;
  }

  /** Removes the chunks with these ids, and returns them. */
  drop(ids: ReadonlySet<number>): ChunkRecord[] {
    const dropped: ChunkRecord[] = [];
    const keep = (record: ChunkRecord): boolean => {
      if (!ids.has(record.id)) return true;
      dropped.push(record);
      return false;
    };
    this.#front = this.#front.filter(keep);
    this.#queue = this.#queue.slice(this.#head).filter(keep);
    this.#head = 0;
    return dropped;
  }

  /** Empties the queue, and returns what it held. */
  clear(): ChunkRecord[] {
    const all = [...this.#front, ...this.#queue.slice(this.#head)];
    this.#queue = [];
    this.#head = 0;
    this.#front = [];
    return all;
  }
}
