// Observability: a subscriber on the pool's diagnostics channels prints a per-worker table at the end of a map.
// No dependency: node:diagnostics_channel is Node's own, and an OpenTelemetry or Prometheus exporter would
// subscribe the same way.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type ChunkSample, Pool, type WorkerEvent } from 'mpool';
import { runIfMain } from './run-main.js';
import { spin } from './tasks.js';

interface Row {
  worker: number;
  chunks: number;
  items: number;
  busyMs: number;
  waitMs: number;
}

export async function main(): Promise<void> {
  const rows = new Map<number, Row>();
  const deaths: string[] = [];
  // One message per settled chunk: which worker ran it, when it was queued, sent, started and settled.
  const onChunk = (message: unknown): void => {
    const chunk = message as ChunkSample;
    const row = rows.get(chunk.worker) ?? { worker: chunk.worker, chunks: 0, items: 0, busyMs: 0, waitMs: 0 };
    row.chunks++;
    row.items += chunk.items;
    row.busyMs += chunk.runMs;
    row.waitMs += chunk.startedAt - chunk.queuedAt;
    rows.set(chunk.worker, row);
  };
  // Workers that are lost say what killed them, as a typed kind ('exit', 'out-of-memory', 'signal', ...).
  const onWorker = (message: unknown): void => {
    const event = message as WorkerEvent;
    if (event.event === 'lost') deaths.push(`worker ${event.worker}: ${event.kind} (${event.reason})`);
  };
  subscribe('mpool:chunk', onChunk);
  subscribe('mpool:worker', onWorker);
  try {
    await using pool = new Pool({ processes: 2 });
    const results = await pool.map(
      spin,
      Array.from({ length: 40 }, (_, i) => i),
      { chunksize: 4 },
    );
    console.log(`map of ${results.length} items; the last is ${results.at(-1)}`);
    const stats = pool.stats();
    console.log(
      `pool: ${stats.done} chunks done, ${stats.failed} failed; task time median ${stats.taskMs?.median.toFixed(1)} ms`,
    );
  } finally {
    unsubscribe('mpool:chunk', onChunk);
    unsubscribe('mpool:worker', onWorker);
  }
  console.table(
    [...rows.values()]
      .sort((a, b) => a.worker - b.worker)
      .map((row) => ({
        worker: row.worker,
        chunks: row.chunks,
        items: row.items,
        'busy ms': Math.round(row.busyMs),
        'mean wait ms': Math.round(row.waitMs / row.chunks),
      })),
  );
  console.log(deaths.length === 0 ? 'no worker was lost' : deaths.join('\n'));
}

await runIfMain(import.meta.url, main);
