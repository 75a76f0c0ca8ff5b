// Turns samples into the printed report: per-scenario tables of medians, ratios to mpool and peak RSS, and
// the issue's targets as PASS / FAIL / SKIP.
//
// Why the medians are computed here and not by tinybench: tinybench times a function many times inside one
// process. Each sample here is a whole child process (so RSS is per contender and no library warms up or
// pollutes another), a few samples per contender, interleaved across contenders in shuffled rounds. A median
// of those few samples is all the statistics they support; tinybench calibrates the CPU task (calibrate.ts).
import type { Machine } from './machine.js';
import type { Scenario, ScenarioName } from './scenarios.js';

/** The contender --baseline adds: another checkout's mpool on threads, in the same rounds. */
export const BASELINE = 'mpool-baseline';

export interface Sample {
  round: number;
  scenario: ScenarioName;
  contender: string;
  /** Wall time of the timed part, ms; absent when the measurement failed. */
  ms?: number;
  /** Peak RSS of the child's whole process tree (sampled) or of the child itself, whichever is larger. */
  peakRssKb: number;
  error?: string;
  /** The child's own report: ms, closeMs, importMs, maxRssKb (its own peak, threads included). */
  child?: Record<string, unknown>;
  /** Notes such as a pool whose shutdown never settled, or processes left behind. */
  warnings: string[];
}

export interface Row {
  contender: string;
  median: number | null;
  min: number | null;
  max: number | null;
  runs: number;
  failures: number;
  peakRssKb: number;
}

export interface Target {
  scenario: ScenarioName;
  verdict: 'PASS' | 'FAIL' | 'SKIP';
  what: string;
  detail: string;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function rows(samples: Sample[], scenario: ScenarioName, order: readonly string[]): Row[] {
  return order.flatMap((contender) => {
    const mine = samples.filter((s) => s.scenario === scenario && s.contender === contender);
    if (mine.length === 0) return [];
    const times = mine.flatMap((s) => (s.ms === undefined ? [] : [s.ms]));
    return [
      {
        contender,
        median: median(times),
        min: times.length ? Math.min(...times) : null,
        max: times.length ? Math.max(...times) : null,
        runs: mine.length,
        failures: mine.length - times.length,
        peakRssKb: Math.max(...mine.map((s) => s.peakRssKb)),
      },
    ];
  });
}

const ms = (v: number | null): string => (v === null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const perSecond = (count: number, v: number | null): string => {
  if (v === null) return '-';
  const rate = (count * 1000) / v;
  return rate >= 1e6 ? `${(rate / 1e6).toFixed(2)}M/s` : `${(rate / 1e3).toFixed(1)}k/s`;
};

/** The scenario's own column: a rate, or the speedup over the serial in-process run. */
function extra(scenario: ScenarioName, n: number, row: Row, all: Row[]): string {
  if (scenario === 'cpu') {
    const base = all.find(
      (r) => r.contender === (row.contender.startsWith('python') ? 'python-in-process' : 'in-process'),
    );
    return base?.median && row.median ? `${(base.median / row.median).toFixed(2)}×` : '-';
  }
  if (scenario === 'cold') return '';
  return perSecond(n, row.median);
}

const EXTRA_HEADER: Record<ScenarioName, string> = {
  tiny: 'tasks/s',
  cpu: 'speedup',
  cold: '',
  script: 'items/s',
  map: 'items/s',
  objects: 'objects/s',
  imap: 'results/s',
};

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export function scenarioTable(scenario: ScenarioName, n: number, all: Row[]): string {
  const mpool = all.find((r) => r.contender === 'mpool')?.median ?? null;
  const body = all.map((r) => [
    r.contender,
    ms(r.median),
    r.min === null ? '-' : `${ms(r.min)}–${ms(r.max)}`,
    extra(scenario, n, r, all),
    mpool && r.median ? `${(r.median / mpool).toFixed(2)}` : '-',
    `${Math.round(r.peakRssKb / 1024)} MB`,
    r.failures ? `${r.failures}/${r.runs} failed` : `${r.runs}`,
  ]);
  return table(
    ['contender', 'median ms', 'min–max', EXTRA_HEADER[scenario], 'time ÷ mpool', 'peak RSS', 'runs'],
    body,
  );
}

/** Each round's median time of one contender in one scenario (cold start takes several samples a round). */
export function perRound(samples: Sample[], scenario: ScenarioName, contender: string): Map<number, number> {
  const byRound = new Map<number, number[]>();
  for (const s of samples) {
    if (s.scenario !== scenario || s.contender !== contender || s.ms === undefined) continue;
    byRound.set(s.round, [...(byRound.get(s.round) ?? []), s.ms]);
  }
  return new Map([...byRound].map(([round, times]) => [round, median(times)!]));
}

/**
 * A distribution-free interval for the median (the sign test's): of n values sorted, the k-th from each end,
 * k the largest rank whose two tails hold at most 1 - `confidence` of Binomial(n, ½) together. Null when n is
 * too small for that confidence. `confidence` in the answer is the interval's own, which is at least the one asked.
 */
export function medianInterval(
  values: number[],
  confidence = 0.9,
): { low: number; high: number; confidence: number } | null {
  const n = values.length;
  const sorted = [...values].sort((a, b) => a - b);
  // tail[j] = P(B <= j) for B ~ Binomial(n, 1/2).
  let term = 0.5 ** n;
  let tail = term;
  let best: number | null = null;
  let bestTail = 0;
  for (let j = 0; 2 * j < n; j++) {
    if (2 * tail > 1 - confidence) break;
    best = j;
    bestTail = tail;
    term = (term * (n - j)) / (j + 1);
    tail += term;
  }
  if (best === null) return null;
  return { low: sorted[best]!, high: sorted[n - 1 - best]!, confidence: 1 - 2 * bestTail };
}

/**
 * mpool against --baseline, round by round: each round runs both on the machine of that moment, so the ratio
 * of the pair cancels the drift that widens each one's own min–max.
 */
export function againstBaseline(
  samples: Sample[],
  scenarios: readonly ScenarioName[],
  baseline: string,
): string[] {
  const out: string[] = [];
  for (const scenario of scenarios) {
    const mine = perRound(samples, scenario, 'mpool');
    const theirs = perRound(samples, scenario, baseline);
    const ratios = [...mine].flatMap(([round, t]) => {
      const b = theirs.get(round);
      return b === undefined ? [] : [t / b];
    });
    if (ratios.length === 0) continue;
    const mid = median(ratios)!;
    const ci = medianInterval(ratios);
    const range = ci
      ? `${(ci.confidence * 100).toFixed(0)}% interval ${ci.low.toFixed(3)}–${ci.high.toFixed(3)}`
      : 'too few pairs for an interval';
    const verdict = !ci
      ? ''
      : ci.low > 1
        ? 'mpool slower'
        : ci.high < 1
          ? 'mpool faster'
          : 'no difference shown';
    out.push(
      `${scenario.padEnd(8)} median ${mid.toFixed(3)}  ${range}  ${ratios.length} pairs  ${verdict}`.trimEnd(),
    );
  }
  return out;
}

/**
 * The issue's targets, judged against the peers measured in this same run, on the medians. Each also says in
 * how many rounds it held with the contenders of that round paired: rounds share the machine's state of the
 * moment, so this shows how close to the line a verdict is, which the medians alone do not.
 */
const NODE_PEERS = ['piscina', 'tinypool', 'workerpool', 'poolifier'];

export function targets(
  medians: (scenario: ScenarioName, contender: string) => number | null,
  python: boolean,
  rounds: (scenario: ScenarioName, contender: string) => Map<number, number> = () => new Map(),
): Target[] {
  const out: Target[] = [];
  const judge = (
    scenario: ScenarioName,
    what: string,
    need: string[],
    test: (m: number[]) => [boolean, string],
  ) => {
    const values = need.map((c) => medians(scenario, c));
    if (need.includes('python') && !python) {
      out.push({ scenario, verdict: 'SKIP', what, detail: 'python3 not found on PATH' });
    } else if (values.some((v) => v === null)) {
      const missing = need.filter((_, i) => values[i] === null).join(', ');
      out.push({ scenario, verdict: 'SKIP', what, detail: `not measured in this run: ${missing}` });
    } else {
      const [ok, detail] = test(values as number[]);
      const times = need.map((c) => rounds(scenario, c));
      const paired = [...times[0]!.keys()].filter((r) => times.every((t) => t.has(r)));
      const held = paired.filter((r) => test(times.map((t) => t.get(r)!))[0]).length;
      const tally = paired.length > 1 ? `; held in ${held} of ${paired.length} rounds` : '';
      out.push({ scenario, verdict: ok ? 'PASS' : 'FAIL', what, detail: detail + tally });
    }
  };
  const x = (v: number): string => `${v.toFixed(2)}×`;
  judge('tiny', "mpool's rate ≥ 3× poolifier's", ['mpool', 'poolifier'], ([m, p]) => [
    p! / m! >= 3,
    `mpool ${ms(m!)} ms, poolifier ${ms(p!)} ms: ${x(p! / m!)}`,
  ]);
  // The issue sets this target on Python's spelling, applyAsync(...).get(): judged on it too.
  judge('tiny', "through .get(): mpool's rate ≥ 3× poolifier's", ['mpool-get', 'poolifier'], ([m, p]) => [
    p! / m! >= 3,
    `mpool with .get() ${ms(m!)} ms, poolifier ${ms(p!)} ms: ${x(p! / m!)}`,
  ]);
  judge('map', '≥ 3× faster than Python map_async', ['mpool', 'python'], ([m, p]) => [
    p! / m! >= 3,
    `mpool ${ms(m!)} ms, Python ${ms(p!)} ms: ${x(p! / m!)}`,
  ]);
  judge('map', 'within 3× of in-process Array.prototype.map', ['mpool', 'in-process'], ([m, s]) => [
    m! / s! <= 3,
    `mpool ${ms(m!)} ms, Array.prototype.map ${ms(s!)} ms: ${x(m! / s!)} the time`,
  ]);
  judge('cpu', 'speedup ≥ 1.95× over serial', ['mpool', 'in-process'], ([m, s]) => [
    s! / m! >= 1.95,
    // Three decimals: at two, a 1.946× that misses the mark would print as 1.95×.
    `serial ${ms(s!)} ms, mpool ${ms(m!)} ms: ${(s! / m!).toFixed(3)}×`,
  ]);
  judge('cold', 'within 1.1× of bare worker_threads', ['mpool', 'bare-threads'], ([m, b]) => [
    m! <= 1.1 * b!,
    `mpool ${ms(m!)} ms, bare threads ${ms(b!)} ms: ${x(m! / b!)} the time`,
  ]);
  judge('script', "≤ 0.33 of Python's time", ['mpool', 'python'], ([m, p]) => [
    m! <= 0.33 * p!,
    `mpool ${ms(m!)} ms, Python ${ms(p!)} ms: ${(m! / p!).toFixed(2)} of it`,
  ]);
  judge('objects', 'within 1.2× of structuredClone both ways', ['mpool', 'structured-clone'], ([m, c]) => [
    m! <= 1.2 * c!,
    `mpool ${ms(m!)} ms, structuredClone ${ms(c!)} ms: ${x(m! / c!)} the time`,
  ]);
  // First in every row, among the Node pools (Python's targets are the ratios above: its cold start is a
  // fork of an interpreter already loaded, which no Node pool can do).
  for (const scenario of ['tiny', 'cpu', 'cold', 'script', 'map', 'objects', 'imap'] as const) {
    judge(scenario, 'first among the Node pools', ['mpool', ...NODE_PEERS], ([m, ...peers]) => {
      const best = Math.min(...(peers as number[]));
      const who = NODE_PEERS[(peers as number[]).indexOf(best)];
      return [m! < best, `mpool ${ms(m!)} ms, the best peer ${who} ${ms(best)} ms: ${x(best / m!)}`];
    });
  }
  return out;
}

export function machineLines(m: Machine): string {
  const py = m.python
    ? `Python ${m.python.version} (start method ${m.python.startMethod})`
    : 'Python: not found (Python rows skipped)';
  return [
    `command: ${m.command}`,
    `date: ${m.date}   mpool commit: ${m.mpoolCommit}`,
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, load average ${m.loadAverage.join(' ')}`,
    `runtimes: Node ${m.node}; ${py}`,
    `peers: ${Object.entries(m.libraries)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  ].join('\n');
}

export interface RunInfo {
  rounds: number;
  processes: number;
  seconds: number;
  quick: boolean;
  python: boolean;
  scenarios: readonly Scenario[];
}

/** Everything printed after the rounds: tables, targets, failures and the cleanup check. */
export function render(run: RunInfo, samples: Sample[]): { text: string; verdicts: Target[] } {
  const out: string[] = [
    `\n${run.rounds} round(s) in ${run.seconds.toFixed(0)} s, ${run.processes} workers per pool. Times are medians ` +
      'of the timed part (pool already warm, except cold); "time ÷ mpool" > 1 means slower than mpool. Peak ' +
      "RSS: the largest over rounds of the measurement's whole process tree, sampled every 20 ms (worker " +
      "threads live inside it; forked workers, Python's and mpool-process's, are added in full, shared pages " +
      'included).',
  ];
  for (const s of run.scenarios) {
    const { n, chunksize } = run.quick ? s.quick : s.full;
    const size = `n = ${n.toLocaleString('en-US')}${s.name === 'cold' ? '' : `, chunksize ${chunksize}`}`;
    out.push(
      `\n## ${s.name}: ${s.title} (${size})`,
      scenarioTable(s.name, n, rows(samples, s.name, s.contenders)),
      s.note,
    );
  }
  const medianOf = (scenario: ScenarioName, contender: string) =>
    rows(samples, scenario, [contender])[0]?.median ?? null;
  const roundsOf = (scenario: ScenarioName, contender: string) => perRound(samples, scenario, contender);
  const verdicts = targets(medianOf, run.python, roundsOf).filter((t) =>
    run.scenarios.some((s) => s.name === t.scenario),
  );
  if (verdicts.length) {
    out.push(
      `\n## targets${run.quick ? ' (--quick sizes are too small to judge them: smoke check only)' : ''}`,
    );
    for (const t of verdicts) out.push(`${t.verdict}  ${t.scenario}: ${t.what} (${t.detail})`);
  }
  if (samples.some((x) => x.contender === BASELINE)) {
    out.push(
      "\n## against the baseline: mpool's time ÷ the baseline's, paired round by round (< 1: mpool faster)",
      ...againstBaseline(
        samples,
        run.scenarios.map((s) => s.name),
        BASELINE,
      ),
    );
  }
  for (const s of samples.filter((x) => x.error || x.warnings.length)) {
    const what = [s.error, ...s.warnings].filter(Boolean).join('; ');
    out.push(`! round ${s.round} ${s.scenario} ${s.contender}: ${what}`);
  }
  const leftovers = samples.filter((s) => s.warnings.some((w) => w.includes('left running'))).length;
  const left = leftovers ? `${leftovers} had processes left behind (killed)` : 'nothing left running';
  out.push(`\ncleanup: ${samples.length} measurement process trees reaped; ${left}.`);
  return { text: out.join('\n'), verdicts };
}
