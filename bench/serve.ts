// The serving benchmark: `npm run bench:serve -- [--rounds N] [--quick]`. Drives examples/hash-server.ts (mpool)
// and its piscina twin (bench/serve-piscina.mjs), each in its own process on loopback, first with a steady load
// (a closed loop of clients), then with a spike of twice the capacity (an open loop); contenders interleaved in
// shuffled rounds. Reports throughput, p50/p99 latency, RSS, and under the spike how many were told "busy".
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { closedLoop, closeLoad, getJson, type LoadResult, openLoop, startService } from './load.js';
import { describeMachine } from './machine.js';
import { shuffle } from './measure.js';
import { machineLines } from './report.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const PROCESSES = 2;

interface Contender {
  name: string;
  args: string[];
  env: Record<string, string>;
}

const CONTENDERS: Contender[] = [
  { name: 'mpool', args: ['--import', 'tsx', 'examples/hash-server.ts'], env: {} },
  // Both run under tsx, as the TypeScript example does, so neither's memory carries a loader the other does not.
  { name: 'piscina', args: ['--import', 'tsx', 'bench/serve-piscina.mjs'], env: {} },
  {
    name: 'mpool, unbounded queue',
    args: ['--import', 'tsx', 'examples/hash-server.ts'],
    env: { MAX_QUEUE: 'none' },
  },
];

interface Sample {
  steady: LoadResult;
  spike: LoadResult;
  idleRssMb: number;
  spikeRssGrowthMb: number;
}

const { values } = parseArgs({
  options: { rounds: { type: 'string' }, quick: { type: 'boolean' } },
});
const quick = values.quick === true;
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const ROUNDS_PER_REQUEST = '5000';
const body = Buffer.alloc((quick ? 16 : 128) * 1024, 7);
const steadyRequests = quick ? 60 : 400;
const spikeMs = quick ? 1000 : 3000;

async function measure(contender: Contender, spikeRate: number | null): Promise<Sample> {
  const service = await startService(contender.args, {
    PORT: '0',
    PROCESSES: String(PROCESSES),
    MIN_PROCESSES: '1',
    ROUNDS: ROUNDS_PER_REQUEST,
    ...contender.env,
  });
  try {
    const url = `${service.url}/hash`;
    // Load the task module in the workers before anything is timed, as a service that has been up a while.
    await closedLoop(url, body, { clients: PROCESSES, requests: 4 * PROCESSES, maxMs: 30_000 });
    const steady = await closedLoop(url, body, {
      clients: 4 * PROCESSES,
      requests: steadyRequests,
      maxMs: 60_000,
    });
    const before = await getJson<{ rss: number }>(`${service.url}/stats`);
    const rate = spikeRate ?? 2 * steady.perSecond;
    const spike = await openLoop(url, body, { rate, durationMs: spikeMs, maxMs: 60_000 });
    const after = await getJson<{ maxRss: number }>(`${service.url}/stats`);
    return {
      steady,
      spike,
      idleRssMb: before.rss / 2 ** 20,
      spikeRssGrowthMb: Math.max(0, after.maxRss - before.rss) / 2 ** 20,
    };
  } finally {
    await service.stop();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  process.chdir(root);
  console.log(machineLines(describeMachine(process.argv.slice(2), null)));
  console.log(
    `Node ${process.version}; ${PROCESSES} workers (minProcesses 1), maxQueue ${4 * PROCESSES}; ${body.length / 1024} KiB bodies`,
  );
  // The spike's rate: twice what mpool serves under the steady load, the same for every contender.
  const calibration = await measure(CONTENDERS[0]!, 1);
  const spikeRate = Math.round(2 * calibration.steady.perSecond);
  console.log(
    `capacity ~${calibration.steady.perSecond.toFixed(0)} requests/s; the spike sends ${spikeRate}/s for ${spikeMs} ms`,
  );
  const samples = new Map<string, Sample[]>(CONTENDERS.map((c) => [c.name, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const contender of shuffle([...CONTENDERS])) {
      const sample = await measure(contender, spikeRate);
      samples.get(contender.name)!.push(sample);
      console.error(
        `[round ${round}/${rounds}] ${contender.name}: ${sample.steady.perSecond.toFixed(0)}/s steady, spike p99 ${sample.spike.p99.toFixed(0)} ms, ${sample.spike.busy} busy`,
      );
    }
  }
  closeLoad();
  const rows = CONTENDERS.map((c) => {
    const s = samples.get(c.name)!;
    const m = (pick: (x: Sample) => number): number => median(s.map(pick));
    return {
      contender: c.name,
      'steady req/s': m((x) => x.steady.perSecond).toFixed(0),
      'steady p50 ms': m((x) => x.steady.p50).toFixed(1),
      'steady p99 ms': m((x) => x.steady.p99).toFixed(1),
      'RSS MB': m((x) => x.idleRssMb).toFixed(0),
      'spike served/s': m((x) => x.spike.perSecond).toFixed(0),
      'spike p99 ms': m((x) => x.spike.p99).toFixed(0),
      'spike busy %': m((x) => (100 * x.spike.busy) / x.spike.sent).toFixed(0),
      'spike failed': m((x) => x.spike.failed).toFixed(0),
      'spike RSS +MB': m((x) => x.spikeRssGrowthMb).toFixed(0),
    };
  });
  console.table(rows);
  console.log(`medians of ${rounds} round(s), contenders in shuffled order each round`);
}

await main();
