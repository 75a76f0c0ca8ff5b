// `npm run bench -- ts-start`: what a TypeScript user's whole script costs to start, from spawn to exit, with
// its task module in TypeScript: under tsx (`node --import tsx main.ts`) against the same code compiled by tsc
// and run by plain node, on Node 20 and on the Node the bench runs on (24 by default), threads and processes.
// The project is made in a temporary folder, as a user's would be, with mpool (this checkout's dist/) and tsx
// linked into its node_modules. Runs are interleaved in shuffled rounds; each variant first runs once unmeasured,
// so Node's compile cache and tsx's cache are as a user's second run finds them (the first run's figure is
// printed beside the medians).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shuffle } from './measure.js';
import { groupAlive, killGroup } from './proctree.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONTEXTS = ['thread', 'process'] as const;
const MODES = ['tsx', 'compiled'] as const;

interface Variant {
  node: string;
  version: string;
  context: (typeof CONTEXTS)[number];
  mode: (typeof MODES)[number];
}

const label = (v: Variant) => `Node ${v.version.split('.')[0]} ${v.context} ${v.mode}`;

/** The node binaries to compare: Node 20 (installed on demand, as CI does) and the one running the bench. */
function nodes(): Array<{ node: string; version: string }> {
  const found = new Map<string, { node: string; version: string }>();
  const add = (node: string) => {
    const version = execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    found.set(version.split('.')[0]!, { node, version });
  };
  try {
    const bin = execFileSync('sh', [join(root, 'scripts/node-bin.sh'), '20'], { encoding: 'utf8' }).trim();
    add(join(bin, 'node'));
  } catch (error) {
    console.error(`ts-start: Node 20 could not be found or installed, measuring without it (${error})`);
  }
  add(process.execPath);
  return [...found.values()].sort((a, b) => a.version.localeCompare(b.version, 'en', { numeric: true }));
}

function makeProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mpool-ts-start-'));
  cpSync(join(root, 'bench/project'), dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        target: 'ES2022',
        strict: true,
        outDir: 'out',
        types: ['node'],
        typeRoots: [join(root, 'node_modules/@types')],
      },
      include: ['*.ts'],
    }),
  );
  // mpool is this checkout (its dist/), tsx the checkout's own; their dependencies resolve from their real paths.
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules/mpool'), 'dir');
  symlinkSync(join(root, 'node_modules/tsx'), join(dir, 'node_modules/tsx'), 'dir');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], {
    stdio: 'inherit',
  });
  writeFileSync(join(dir, 'out/package.json'), '{ "type": "module" }\n');
  return dir;
}

function run(dir: string, v: Variant, processes: number): Promise<number> {
  const args =
    v.mode === 'tsx'
      ? ['--import', 'tsx', 'main.ts', v.context, String(processes)]
      : ['out/main.js', v.context, String(processes)];
  const start = performance.now();
  const child = spawn(v.node, args, { cwd: dir, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  return new Promise((resolve, reject) => {
    child.on('close', (code) => {
      const ms = performance.now() - start;
      const left = groupAlive(child.pid!);
      if (left.length) killGroup(child.pid!);
      if (code !== 0) reject(new Error(`${label(v)} exited with ${code}: ${stderr}`));
      else if (left.length) reject(new Error(`${label(v)} left ${left.length} process(es) running`));
      else resolve(ms);
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Runs the comparison and returns its report: a table and a note. Throws when a run fails. */
export async function typescriptStartup(rounds: number, processes: number): Promise<string> {
  const dir = makeProject();
  try {
    const variants: Variant[] = nodes().flatMap((n) =>
      CONTEXTS.flatMap((context) => MODES.map((mode) => ({ ...n, context, mode }))),
    );
    const first = new Map<Variant, number>();
    for (const v of variants) first.set(v, await run(dir, v, processes));
    const times = new Map<Variant, number[]>(variants.map((v) => [v, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const v of shuffle(variants)) {
        const ms = await run(dir, v, processes);
        times.get(v)!.push(ms);
        console.error(`[ts-start ${round}/${rounds}] ${label(v)}: ${ms.toFixed(0)} ms`);
      }
    }
    const lines = [
      `\n## ts-start: a whole TypeScript script, spawn to exit (${processes} workers, ${rounds} round(s))`,
      '| Node | context | tsx: median | compiled: median | tsx ÷ compiled | first run: tsx / compiled |',
      '|---|---|---:|---:|---:|---:|',
    ];
    for (const v of variants.filter((x) => x.mode === 'tsx')) {
      const twin = variants.find(
        (x) => x.node === v.node && x.context === v.context && x.mode === 'compiled',
      )!;
      const [a, b] = [median(times.get(v)!), median(times.get(twin)!)];
      lines.push(
        `| ${v.version} | ${v.context} | ${a.toFixed(0)} ms | ${b.toFixed(0)} ms | ${(a / b).toFixed(2)}x | ` +
          `${first.get(v)!.toFixed(0)} / ${first.get(twin)!.toFixed(0)} ms |`,
      );
    }
    lines.push(
      'bench/project/main.ts: a pool whose initializer and task come from a TypeScript module maps ' +
        `${4 * processes} items, closes, joins and exits. tsx: \`node --import tsx main.ts\`; compiled: tsc ` +
        "(NodeNext) then `node out/main.js`. Node 22.18+ and 24 strip the module's types in each worker " +
        "(Node's compile cache keeps the result); Node 20 registers tsx in each worker that loads it.",
    );
    return lines.join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
