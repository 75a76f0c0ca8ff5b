// Issue 16: the example hash server, run as a user runs it, under a spike of twice its capacity. With maxQueue it
// answers "busy" (503) to what it cannot take soon: the latency of what it serves stays bounded and its memory
// flat. With the unbounded default, the same spike queues up: latency grows with the backlog, and so does memory.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { closedLoop, closeLoad, getJson, type LoadResult, openLoop, startService } from '../bench/load.js';

const PROCESSES = 2;
const MAX_QUEUE = 2 * PROCESSES;
const SPIKE_MS = 4000;
// Large enough that a backlog of bodies shows in the server's memory.
const body = Buffer.alloc(256 * 1024, 7);

interface Run {
  capacity: number;
  spike: LoadResult;
  rssGrowthMb: number;
}

async function run(maxQueue: string, spikeRate: (capacity: number) => number): Promise<Run> {
  const service = await startService(['--import', 'tsx', 'examples/hash-server.ts'], {
    PORT: '0',
    PROCESSES: String(PROCESSES),
    MIN_PROCESSES: String(PROCESSES),
    MAX_QUEUE: maxQueue,
    ROUNDS: '5000',
  });
  try {
    const url = `${service.url}/hash`;
    await closedLoop(url, body, { clients: PROCESSES, requests: 4 * PROCESSES, maxMs: 30_000 });
    // Enough clients to keep every worker busy: the service's capacity, requests answered per second.
    const clients = 2 * PROCESSES;
    const steady = await closedLoop(url, body, { clients, requests: 30 * PROCESSES, maxMs: 30_000 });
    assert.equal(steady.ok, 30 * PROCESSES, 'a steady load within the queue is served in full');
    const before = await getJson<{ rss: number }>(`${service.url}/stats`);
    const spike = await openLoop(url, body, {
      rate: spikeRate(steady.perSecond),
      durationMs: SPIKE_MS,
      maxMs: 90_000,
    });
    const afterSpike = await getJson<{ maxRss: number }>(`${service.url}/stats`);
    return { capacity: steady.perSecond, spike, rssGrowthMb: (afterSpike.maxRss - before.rss) / 2 ** 20 };
  } finally {
    await service.stop();
  }
}

describe('a server under a spike (examples/hash-server.ts)', () => {
  after(closeLoad);

  it('with maxQueue: 503s, bounded p99 and flat memory; unbounded: neither', {
    timeout: 240_000,
  }, async () => {
    let rate = 0;
    const bounded = await run(String(MAX_QUEUE), (capacity) => (rate = Math.round(2 * capacity)));
    const unbounded = await run('none', () => rate);
    const said = `bounded ${JSON.stringify(bounded)}, unbounded ${JSON.stringify(unbounded)}`;
    // Every request had an answer, and only the bounded server said "busy", to about half of the spike.
    assert.equal(bounded.spike.failed, 0, said);
    assert.equal(unbounded.spike.failed, 0, said);
    assert.equal(unbounded.spike.busy, 0, said);
    assert.ok(bounded.spike.busy >= 0.2 * bounded.spike.sent, `too few 503s: ${said}`);
    // What the bounded server takes waits behind at most maxQueue others: its p99 is a few service times.
    const serviceMs = (1000 * PROCESSES) / bounded.capacity;
    assert.ok(bounded.spike.p99 <= 4 * (MAX_QUEUE + PROCESSES) * serviceMs, `bounded p99: ${said}`);
    // The unbounded one queues the whole excess: its latency grows with the spike.
    assert.ok(unbounded.spike.p99 >= 2 * bounded.spike.p99, `unbounded p99 did not grow: ${said}`);
    // Memory: the backlog's bodies are held by the unbounded server, not by the bounded one.
    const backlogMb =
      ((unbounded.spike.sent - unbounded.capacity * (SPIKE_MS / 1000)) * body.length) / 2 ** 20;
    // (Each accepted body is read, then copied to its worker: the garbage of that churn shows in the peak RSS
    // of both, until V8 collects it. What differs is the backlog, which only the unbounded server holds.)
    assert.ok(bounded.rssGrowthMb <= unbounded.rssGrowthMb / 2, `bounded RSS grew as much: ${said}`);
    assert.ok(
      unbounded.rssGrowthMb >= bounded.rssGrowthMb + backlogMb / 4,
      `unbounded RSS (backlog ~${backlogMb} MB): ${said}`,
    );
  });
});
