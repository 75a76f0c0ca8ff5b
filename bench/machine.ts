// What the numbers were measured on, and with which command: printed above every report.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PythonInfo {
  version: string;
  startMethod: string;
}

export interface Machine {
  date: string;
  command: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  loadAverage: number[];
  node: string;
  python: PythonInfo | null;
  mpoolCommit: string;
  libraries: Record<string, string>;
}

const root = fileURLToPath(new URL('..', import.meta.url));
export const PY_SCRIPT = fileURLToPath(new URL('python/pool_bench.py', import.meta.url));
/** Starts the one line in which a measurement child (Node or Python) reports its result. */
export const MARK = '@@mpool-bench ';

/** Python 3 on PATH, or null (the Python rows are then skipped, and the report says so). */
export function findPython(): PythonInfo | null {
  const run = spawnSync('python3', [PY_SCRIPT, 'info'], { encoding: 'utf8', timeout: 30_000 });
  if (run.error || run.status !== 0) return null;
  const line = run.stdout.split('\n').find((l) => l.startsWith(MARK));
  return line ? (JSON.parse(line.slice(MARK.length)) as PythonInfo) : null;
}

/** Whether dist/ is built and newer than every file in src/, so the mpool rows measure the current code. */
export function distIsFresh(): boolean {
  try {
    const built = statSync(`${root}dist/index.js`).mtimeMs;
    const sources = readdirSync(`${root}src`, { recursive: true, encoding: 'utf8' });
    return sources.every((file) => statSync(`${root}src/${file}`).mtimeMs <= built);
  } catch {
    return false;
  }
}

function version(pkg: string): string {
  try {
    const json = readFileSync(`${root}node_modules/${pkg}/package.json`, 'utf8');
    return (JSON.parse(json) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

function commit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: root,
      encoding: 'utf8',
    });
    return dirty.trim() ? `${sha} (src/ modified)` : sha;
  } catch {
    return 'unknown';
  }
}

/** How this run was started, as a person would type it. */
function command(argv: string[]): string {
  const args = argv.map((a) => (/^[\w./,=:-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`));
  const event = process.env.npm_lifecycle_event;
  const script = process.argv[1] ? relative(root, process.argv[1]) : 'bench/run.ts';
  const direct = ['tsx', script, ...args].join(' ');
  if (event === 'bench') return `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
  return event?.startsWith('bench') ? `npm run ${event} (${direct})` : direct;
}

export function describeMachine(argv: string[], python: PythonInfo | null): Machine {
  return {
    date: new Date().toISOString(),
    command: command(argv),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${release()}`,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    python,
    mpoolCommit: commit(),
    libraries: Object.fromEntries(
      ['piscina', 'tinypool', 'workerpool', 'poolifier', 'tinybench', 'tsx'].map((p) => [p, version(p)]),
    ),
  };
}
