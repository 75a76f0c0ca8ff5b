// The orchestrator: `npm run bench -- [scenario...] [--rounds N] [--quick] [--json FILE] [--only a,b]`.
// Every contender × scenario measurement runs in its own child process (measure.ts), contenders interleaved
// in shuffled rounds; then report.ts prints medians, ratios to mpool, peak RSS and the targets.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { calibrateNode } from './calibrate.js';
import { NODE_CONTENDERS } from './child.js';
import { describeMachine, distIsFresh, findPython } from './machine.js';
import { calibratePython, measure, shuffle } from './measure.js';
import { BASELINE, machineLines, render, type Sample } from './report.js';
import { type Params, SCENARIOS, type Scenario, scenario as scenarioNamed } from './scenarios.js';
import { typescriptStartup } from './typescript.js';

/** Not a contender scenario: whole scripts under tsx against compiled, on two Node versions (typescript.ts). */
const TS_START = 'ts-start';

const ALL_CONTENDERS = [...NODE_CONTENDERS, 'python', 'python-in-process'];

const USAGE = `Usage: npm run bench -- [scenario...] [options]
Scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}, ${TS_START} (default: all)
Options:
  --rounds N       rounds; each runs every contender once, in shuffled order (default 3, --quick 1)
  --quick          small sizes and one round: a smoke check that every contender runs and cleans up
  --json FILE      also save the machine, every sample and the targets as JSON
  --only a,b       only these contenders: ${ALL_CONTENDERS.join(', ')}
  --processes N    workers per pool (default: the cores, ${availableParallelism()})
  --timeout S      seconds one measurement may take before it is killed (default 180)
  --baseline DIR   another built checkout of mpool (a git worktree of an earlier commit, after npm run build
                   there): measured beside mpool as ${BASELINE}, threads, in the same rounds
mpool rows measure the built dist/ (npm run bench builds it); mpool-src (cold start) runs src/ under tsx.
Exit status: 1 when a measurement failed or left processes behind; the targets do not change it.`;

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`Expected --${name} to be an integer >= 1, got ${raw}`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      rounds: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      only: { type: 'string' },
      processes: { type: 'string' },
      timeout: { type: 'string' },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const quick = values.quick;
  const rounds = positiveInt('rounds', values.rounds, quick ? 1 : 3);
  const processes = positiveInt('processes', values.processes, availableParallelism());
  const timeoutMs = positiveInt('timeout', values.timeout, 180) * 1000;
  const tsStart = positionals.length === 0 || positionals.includes(TS_START);
  const named = positionals.filter((p) => p !== TS_START);
  const baseline = values.baseline ? resolve(values.baseline) : undefined;
  if (baseline && !existsSync(join(baseline, 'dist/index.js')))
    throw new Error(`Expected --baseline to be a built mpool checkout, got ${baseline} (no dist/index.js)`);
  if (baseline) process.env.MPOOL_BENCH_BASELINE = baseline;
  // The baseline runs wherever mpool's thread row does.
  const chosen = (positionals.length ? named.map(scenarioNamed) : SCENARIOS).map((s) =>
    baseline && s.contenders.includes('mpool') ? { ...s, contenders: [...s.contenders, BASELINE] } : s,
  );
  const only = values.only?.split(',').map((c) => c.trim());
  const unknown = only?.filter((c) => !ALL_CONTENDERS.includes(c));
  if (unknown?.length)
    throw new Error(`Unknown contender(s) ${unknown.join(', ')}. Known: ${ALL_CONTENDERS.join(', ')}`);

  const python = findPython();
  const machine = describeMachine(argv, python);
  console.log(machineLines(machine));
  if (baseline) {
    const commit = execFileSync('git', ['-C', baseline, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' });
    console.log(`baseline (${BASELINE}): ${baseline}, commit ${commit.trim()}`);
  }
  if (!python)
    console.log('python3 was not found on PATH: the Python rows and the targets against Python are skipped.');
  // mpool is measured as users run it, built; `npm run bench` builds first.
  if (!distIsFresh()) {
    console.error('dist/ is missing or older than src/: run `npm run build` (npm run bench does) first.');
    process.exit(1);
  }
  const wanted = (c: string): boolean =>
    (python !== null || !c.startsWith('python')) && (!only || only.includes(c));

  const needsCpu = chosen.some((s) => s.name === 'cpu');
  const iters = needsCpu ? await calibrateNode(4) : 0;
  const pyIters = needsCpu && python ? await calibratePython(4) : 0;
  if (needsCpu) {
    const py = python ? `, spin(${pyIters}) in Python` : '';
    console.log(`cpu task: spin(${iters}) in Node${py}, each about 4 ms here`);
  }
  const paramsOf = (s: Scenario, contender: string): Params => ({
    processes,
    ...(quick ? s.quick : s.full),
    iters: contender.startsWith('python') ? pyIters : iters,
  });

  const samples: Sample[] = [];
  const started = Date.now();
  for (let round = 1; round <= rounds; round++) {
    for (const s of chosen) {
      // Each pass over the contenders in its own shuffled order.
      const order = Array.from({ length: s.samplesPerRound ?? 1 }, () =>
        shuffle(s.contenders.filter(wanted)),
      );
      for (const contender of order.flat()) {
        const sample = { round, ...(await measure(contender, s, paramsOf(s, contender), timeoutMs)) };
        samples.push(sample);
        const what = sample.ms === undefined ? `FAILED: ${sample.error}` : `${sample.ms.toFixed(1)} ms`;
        const warn = sample.warnings.length ? `  (${sample.warnings.join('; ')})` : '';
        const mb = Math.round(sample.peakRssKb / 1024);
        console.error(`[round ${round}/${rounds}] ${s.name} ${contender}: ${what}, ${mb} MB${warn}`);
      }
    }
  }

  const seconds = (Date.now() - started) / 1000;
  const run = { rounds, processes, seconds, quick, python: python !== null, scenarios: chosen };
  const { text, verdicts } = render(run, samples);
  console.log(text);
  let tsFailed = false;
  if (tsStart) {
    try {
      console.log(await typescriptStartup(rounds, processes));
    } catch (error) {
      tsFailed = true;
      console.log(`\n## ${TS_START} FAILED: ${error instanceof Error ? error.message : error}`);
    }
  }
  if (values.json) {
    const saved = { machine, rounds, processes, quick, samples, targets: verdicts };
    writeFileSync(values.json, `${JSON.stringify(saved, null, 2)}\n`);
    console.log(`results saved to ${values.json}`);
  }
  const leftovers = samples.some((s) => s.warnings.some((w) => w.includes('left running')));
  return samples.some((s) => s.error) || leftovers || tsFailed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);
