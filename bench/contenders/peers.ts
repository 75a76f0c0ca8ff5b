// map and imap for the peers, which only run one task at a time: the fair equivalents the report names.
import type { WorkName } from '../workers/work.mjs';
import type { Runner } from './types.js';

/** How a peer runs one named task in its pool. */
export type Run = (name: WorkName | 'mapChunk', arg: unknown) => Promise<unknown>;

/** Chunks in flight for the peers' imap: mpool's default `buffersize` for 2 workers, max(16, 4 × processes). */
export const imapWindow = (processes: number): number => Math.max(16, 4 * processes);

/** Slices into `chunksize` pieces, runs them all at once through `mapChunk`, and joins the results in order. */
export async function chunkedMap(run: Run, name: WorkName, items: unknown[], chunksize: number) {
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < items.length; i += chunksize) {
    pending.push(run('mapChunk', { name, items: items.slice(i, i + chunksize) }));
  }
  const chunks = (await Promise.all(pending)) as unknown[][];
  const out = new Array<unknown>(items.length);
  let k = 0;
  for (const chunk of chunks) for (const value of chunk) out[k++] = value;
  return out;
}

/**
 * A bounded in-flight loop: at most `window` chunks submitted and unread, results yielded in input order.
 * With chunksize 1 each item is its own task, as a user of these libraries would write it.
 */
export async function* boundedImap(
  run: Run,
  name: WorkName,
  items: Iterable<unknown>,
  chunksize: number,
  window: number,
): AsyncGenerator<unknown> {
  const input = items[Symbol.iterator]();
  const inflight: Promise<unknown[]>[] = [];
  let exhausted = false;
  const fill = (): void => {
    while (!exhausted && inflight.length < window) {
      const chunk: unknown[] = [];
      while (chunk.length < chunksize) {
        const next = input.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        chunk.push(next.value);
      }
      if (chunk.length === 0) break;
      const result =
        chunksize === 1
          ? run(name, chunk[0]).then((value) => [value])
          : (run('mapChunk', { name, items: chunk }) as Promise<unknown[]>);
      result.catch(() => {}); // surfaced when its turn comes; never an unhandled rejection meanwhile
      inflight.push(result);
    }
  };
  fill();
  while (inflight.length > 0) {
    const values = await inflight.shift()!;
    fill();
    yield* values;
  }
}

/** A Runner for a peer from its run() and its shutdown. */
export function peerRunner(run: Run, close: () => Promise<void>, processes: number): Runner {
  return {
    apply: (name, arg) => run(name, arg),
    map: (name, items, chunksize) => chunkedMap(run, name, items, chunksize),
    imap: (name, items, chunksize) => boundedImap(run, name, items, chunksize, imapWindow(processes)),
    close,
  };
}
