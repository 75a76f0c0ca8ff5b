// The orchestrator: `npm run bench -- [scenario...] [--rounds N] [--quick] [--json FILE] [--only a,b]`.
// Every contender × scenario measurement runs in its own child process, contenders interleaved in shuffled
// rounds; the child's whole process tree is sampled for RSS and must be gone when it ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { calibrateNode } from './calibrate.js';
import { NODE_CONTENDERS } from './child.js';
import { describeMachine, distIsFresh, findPython, MARK, PY_SCRIPT } from './machine.js';
import { groupAlive, killGroup, sampleRss } from './proctree.js';
import { machineLines, rows, type Sample, scenarioTable, targets } from './report.js';
import { type Params, SCENARIOS, type Scenario, scenario as scenarioNamed } from './scenarios.js';

const USAGE = `Usage: npm run bench -- [scenario...] [options]
Scenarios: ${SCENARIOS.map((s) => s.name).join(', ')} (default: all)
Options:
  --rounds N       rounds; each runs every contender once, in shuffled order (default 3, --quick 1)
  --quick          small sizes and one round: a smoke check that every contender runs and cleans up
  --json FILE      also save machine, parameters, every sample and the targets as JSON
  --only a,b       only these contenders: ${[...NODE_CONTENDERS, 'python', 'python-in-process'].join(', ')}
  --processes N    workers per pool (default: cores, ${availableParallelism()})
  --timeout S      seconds one measurement may take before it is killed (default 180)
MPOOL_BENCH_DIST=1 measures mpool's built dist/ (npm run build) instead of src/ under tsx.`;

const CHILD = fileURLToPath(new URL('child.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
/** How long a child's processes may linger after it exits before they count as left behind. */
const REAP_GRACE_MS = 3000;

let current: ChildProcess | undefined;

function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Spawns one measurement in its own process group, samples its tree's RSS, and reaps the whole group. */
async function measure(
  contender: string,
  s: Scenario,
  params: Params,
  timeoutMs: number,
): Promise<Omit<Sample, 'round'>> {
  const json = JSON.stringify(params);
  const [command, args] = contender.startsWith('python')
    ? ['python3', [PY_SCRIPT, contender === 'python' ? 'pool' : 'in-process', s.name, json]]
    : [process.execPath, ['--import', TSX, CHILD, contender, s.name, json]];
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  // Its pipes close once every process holding them is gone, which can come before or after 'exit'.
  const closed = new Promise((resolve) => child.on('close', resolve));
  current = child;
  const pgid = child.pid!;
  const rss = sampleRss(pgid);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const warnings: string[] = [];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(pgid);
  }, timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c, sig) => resolve([c, sig]));
  });
  clearTimeout(timer);
  let peakRssKb = rss.stop();
  current = undefined;
  // Worker processes may take a moment to follow their parent out; past the grace they are leftovers.
  const deadline = Date.now() + REAP_GRACE_MS;
  let alive = groupAlive(pgid);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(50);
    alive = groupAlive(pgid);
  }
  if (alive.length > 0) {
    warnings.push(
      `${alive.length} process(es) left running after the child exited (killed): ${alive.join(', ')}`,
    );
    killGroup(pgid);
  }
  await Promise.race([closed, sleep(1000)]);
  const line = stdout.split('\n').find((l) => l.startsWith(MARK));
  const result = line ? (JSON.parse(line.slice(MARK.length)) as Record<string, unknown>) : null;
  if (result && typeof result.maxRssKb === 'number') peakRssKb = Math.max(peakRssKb, result.maxRssKb);
  if (result?.closeHung) warnings.push("the pool's shutdown had not settled 2 s after the work ended");
  let error: string | undefined;
  if (timedOut) error = `timed out after ${timeoutMs / 1000} s (killed)`;
  else if (!result) {
    const why =
      code === 0 ? 'exited 0 without a result (pending work was dropped)' : `exited with ${code ?? signal}`;
    error = `${why}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
  } else if (code !== 0) warnings.push(`exited with ${code ?? signal} after reporting`);
  return {
    scenario: s.name,
    contender,
    ...(result && !timedOut && typeof result.ms === 'number' ? { ms: result.ms } : {}),
    peakRssKb,
    ...(error ? { error } : {}),
    warnings,
  };
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
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const positiveInt = (name: string, raw: string | undefined, fallback: number): number => {
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`Expected --${name} to be an integer >= 1, got ${raw}`);
    return n;
  };
  const rounds = positiveInt('rounds', values.rounds, values.quick ? 1 : 3);
  const processes = positiveInt('processes', values.processes, availableParallelism());
  const timeoutMs = positiveInt('timeout', values.timeout, 180) * 1000;
  const chosen = positionals.length ? positionals.map(scenarioNamed) : SCENARIOS;
  const only = values.only?.split(',').map((c) => c.trim());

  const python = findPython();
  const machine = describeMachine(argv, python);
  console.log(machineLines(machine));
  if (!python)
    console.log('python3 was not found on PATH: the Python rows and the targets against Python are skipped.');

  const dist = distIsFresh();
  if (!dist && chosen.some((s) => s.contenders.includes('mpool-dist'))) {
    console.log(
      'dist/ is missing or older than src/: the mpool-dist row is skipped (npm run build to get it).',
    );
  }
  const available = (c: string): boolean =>
    (python !== null || !c.startsWith('python')) && (dist || c !== 'mpool-dist');
  const wanted = (c: string): boolean => available(c) && (!only || only.includes(c));
  const needsCpu = chosen.some((s) => s.name === 'cpu');
  const iters = needsCpu ? await calibrateNode(4) : 0;
  const pyIters = needsCpu && python ? await calibratePython() : 0;
  if (needsCpu)
    console.log(
      `cpu task: spin(${iters}) in Node${python ? `, spin(${pyIters}) in Python` : ''}, each about 4 ms here`,
    );
  const paramsOf = (s: Scenario, contender: string): Params => ({
    processes,
    ...(values.quick ? s.quick : s.full),
    iters: contender.startsWith('python') ? pyIters : iters,
  });

  const samples: Sample[] = [];
  const started = Date.now();
  for (let round = 1; round <= rounds; round++) {
    for (const s of chosen) {
      for (const contender of shuffle(s.contenders.filter(wanted))) {
        const sample = { round, ...(await measure(contender, s, paramsOf(s, contender), timeoutMs)) };
        samples.push(sample);
        const what = sample.ms === undefined ? `FAILED: ${sample.error}` : `${sample.ms.toFixed(1)} ms`;
        const warn = sample.warnings.length ? `  (${sample.warnings.join('; ')})` : '';
        console.error(
          `[round ${round}/${rounds}] ${s.name} ${contender}: ${what}, ${Math.round(sample.peakRssKb / 1024)} MB${warn}`,
        );
      }
    }
  }

  console.log(
    `\n${rounds} round(s) in ${((Date.now() - started) / 1000).toFixed(0)} s, ${processes} workers per pool. Times are medians of the timed part (pool already warm, except cold); "time ÷ mpool" > 1 means slower than mpool; peak RSS is the largest over rounds of the child's whole process tree.`,
  );
  for (const s of chosen) {
    const params = values.quick ? s.quick : s.full;
    console.log(
      `\n## ${s.name}: ${s.title} (n = ${params.n.toLocaleString('en-US')}${s.name === 'cold' ? '' : `, chunksize ${params.chunksize}`})`,
    );
    console.log(scenarioTable(s.name, params.n, rows(samples, s.name, s.contenders)));
    if (s.note) console.log(s.note);
  }
  const medianOf = (name: string, contender: string) =>
    rows(samples, name as Scenario['name'], [contender])[0]?.median ?? null;
  const verdicts = targets(medianOf, python !== null).filter((t) =>
    chosen.some((s) => s.name === t.scenario),
  );
  if (verdicts.length) {
    console.log(
      `\n## targets${values.quick ? ' (--quick sizes are too small to judge them: smoke check only)' : ''}`,
    );
    for (const t of verdicts) console.log(`${t.verdict}  ${t.scenario}: ${t.what} (${t.detail})`);
  }
  const failed = samples.filter((s) => s.error);
  const warned = samples.filter((s) => s.warnings.length);
  for (const s of [...failed, ...warned]) {
    console.log(
      `! round ${s.round} ${s.scenario} ${s.contender}: ${[s.error, ...s.warnings].filter(Boolean).join('; ')}`,
    );
  }
  const leftovers = samples.filter((s) => s.warnings.some((w) => w.includes('left running'))).length;
  console.log(
    `\ncleanup: ${samples.length} measurement process trees reaped; ${leftovers ? `${leftovers} had processes left behind` : 'nothing left running'}.`,
  );
  if (values.json) {
    writeFileSync(
      values.json,
      `${JSON.stringify({ machine, rounds, processes, samples, targets: verdicts }, null, 2)}\n`,
    );
    console.log(`results saved to ${values.json}`);
  }
  return failed.length || leftovers ? 1 : 0;
}

/** Python's own loop count for a ~4 ms task (Python is far slower per iteration). */
async function calibratePython(): Promise<number> {
  const child = spawn('python3', [PY_SCRIPT, 'calibrate', '4'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  const line = out.split('\n').find((l) => l.startsWith(MARK));
  if (!line) throw new Error('python3 pool_bench.py calibrate printed no result');
  return (JSON.parse(line.slice(MARK.length)) as { iters: number }).iters;
}

// Ctrl-C: take the running measurement's whole process group down with us.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (current?.pid) killGroup(current.pid);
    process.exit(130);
  });
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
