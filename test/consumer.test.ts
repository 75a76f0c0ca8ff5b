// mpool as users get it: the packed tarball installed into fresh projects outside this repository, run every
// way Node runs code (tsx, --import tsx, tsc output, CommonJS, plain ESM with no tsx, node --test with flags
// in both forms, the worker CLI, a progress bar in a terminal). Each run must give the right answers in both
// contexts and then exit by itself. `npm test` builds dist/ before it runs.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { processGone, sleep } from './helpers.js';
import { RedisServer } from './redis/fixtures/harness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(ROOT, 'test/consumer');
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version: string }>;
};
const pinned = (name: string): string => `${name}@${lock.packages[`node_modules/${name}`]!.version}`;

// The Node that runs this suite runs the projects too, and nothing of this test run leaks into them.
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`,
};
for (const name of Object.keys(env))
  if (/^(NODE_TEST_CONTEXT|NODE_OPTIONS|MPOOL_)/.test(name)) delete env[name];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; a run that does not exit by itself within `ms` is killed and fails. */
function run(
  cwd: string,
  command: string,
  args: string[],
  ms = 120_000,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not exit within ${ms} ms\n${stdout}\n${stderr}`));
    }, ms);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function assertBothContexts(result: Run, what: string): void {
  const shown = `${what}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
  assert.equal(result.code, 0, shown);
  // Under node --test, a test's console output reaches the report as a `# ` comment line.
  assert.match(result.stdout, /^(# )?ok thread$/m, shown);
  assert.match(result.stdout, /^(# )?ok process$/m, shown);
}

let work: string;
let project: string;
let plain: string;

// What users get: `npm pack` of this repo, installed with `npm install <tarball>` into fresh projects.
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'mpool-consumer-'));
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', work], {
    cwd: ROOT,
    env,
    stdio: 'ignore',
  });
  const tarball = join(work, readdirSync(work).find((name) => name.endsWith('.tgz'))!);
  project = join(work, 'project');
  plain = join(work, 'plain');
  cpSync(join(FIXTURES, 'project'), project, { recursive: true });
  cpSync(join(FIXTURES, 'plain'), plain, { recursive: true });
  cpSync(join(FIXTURES, 'project/exercise.mjs'), join(plain, 'exercise.mjs'));
  const install = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
  for (const dir of [project, plain]) {
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
  }
  await Promise.all([
    run(project, 'npm', [...install, tarball, pinned('tsx'), pinned('typescript'), pinned('@types/node')]),
    run(plain, 'npm', [...install, tarball]),
  ]).then((runs) => {
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
  });
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the installed package', () => {
  it('runs under `npx tsx`', async () => {
    assertBothContexts(await run(project, 'npx', ['tsx', 'main.ts']), 'npx tsx main.ts');
  });

  it('runs under `node --import tsx`', async () => {
    assertBothContexts(
      await run(project, 'node', ['--import', 'tsx', 'main.ts']),
      'node --import tsx main.ts',
    );
  });

  it('compiles with tsc (NodeNext, strict, skipLibCheck: false) and runs on plain node', async () => {
    const compiled = await run(project, 'npx', ['tsc', '-p', 'tsconfig.json']);
    assert.equal(compiled.code, 0, compiled.stdout + compiled.stderr);
    cpSync(join(project, 'exercise.mjs'), join(project, 'build/exercise.mjs'));
    assertBothContexts(await run(project, 'node', ['build/main.js']), 'node build/main.js');
  });

  it('refuses wrong argument and result types at the call site', async () => {
    const checked = await run(project, 'npx', [
      'tsc',
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      'false',
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--target',
      'ES2022',
      'bad.ts',
    ]);
    assert.notEqual(checked.code, 0);
    const lines = [...checked.stdout.matchAll(/^bad\.ts\((\d+),/gm)].map((m) => Number(m[1]));
    assert.deepEqual([...new Set(lines)], [6, 7, 8], checked.stdout);
  });

  it('runs CommonJS: require("mpool") and task(__filename, fn)', async () => {
    assertBothContexts(await run(project, 'node', ['main.cjs']), 'node main.cjs');
  });

  it('runs CommonJS TypeScript under tsx, an enum included', async () => {
    assertBothContexts(await run(project, 'npx', ['tsx', 'main.cts']), 'npx tsx main.cts');
  });

  it('runs plain ESM in a project without tsx', async () => {
    assert.equal(existsSync(join(plain, 'node_modules/tsx')), false);
    assertBothContexts(await run(plain, 'node', ['main.mjs']), 'node main.mjs');
  });

  it('says what to install when a TypeScript task module cannot load without tsx', async () => {
    const result = await run(plain, 'node', ['no-tsx.mjs']);
    assert.equal(result.code, 0, result.stderr);
    for (const context of ['thread', 'process']) {
      const line = result.stdout.split('\n').find((l) => l.startsWith(`${context}: `)) ?? result.stdout;
      assert.match(line, /Cannot load the TypeScript task module .*typed\.ts/, line);
      assert.match(line, /npm install --save-dev tsx/, line);
    }
  });

  it('loads an erasable TypeScript task module without tsx where Node strips types, through its compile cache', async () => {
    // Node's compile cache is off unless enabled; mpool's workers enable it in its default folder, under TMPDIR.
    const temp = mkdtempSync(join(tmpdir(), 'mpool-compile-cache-'));
    const cache = join(temp, 'node-compile-cache');
    try {
      const result = await run(plain, 'node', ['erasable.mjs'], 120_000, { TMPDIR: temp });
      assert.equal(result.code, 0, result.stderr);
      // A capability, not a version: Node sets process.features.typescript where it strips types.
      const strips = Boolean((process.features as { typescript?: unknown }).typescript);
      for (const context of ['thread', 'process']) {
        const line = result.stdout.split('\n').find((l) => l.startsWith(`${context}: `)) ?? result.stdout;
        if (strips) assert.equal(line, `${context}: [101,102,103]`);
        else
          assert.match(
            line,
            /Cannot load the TypeScript task module .*erasable\.ts.*npm install --save-dev tsx/,
          );
      }
      // The workers kept Node's stripped output, so the next worker to load the module skips the stripping.
      const kept = existsSync(cache) ? readdirSync(cache) : [];
      assert.equal(kept.length > 0, strips, `compile cache: ${kept.join(', ')}`);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });

  for (const [form, flags] of [
    [
      'two tokens',
      [
        '--test-timeout',
        '60000',
        '--test-name-pattern',
        'pool',
        '--import',
        'tsx',
        '-r',
        './setup.cjs',
        '--conditions',
        'custom',
      ],
    ],
    [
      'one token',
      [
        '--test-timeout=60000',
        '--test-name-pattern=pool',
        '--import=tsx',
        '--require=./setup.cjs',
        '--conditions=custom',
      ],
    ],
  ] as const) {
    it(`runs inside node --test with flags as ${form}`, async () => {
      const result = await run(project, 'node', ['--test', ...flags, 'under-runner.ts']);
      assertBothContexts(result, `node --test ${flags.join(' ')}`);
      assert.match(result.stdout, /^(# |ℹ )pass 1$/m, result.stdout);
    });
  }

  it('prints no bar without a terminal, and still finishes', async () => {
    for (const context of ['thread', 'process']) {
      const result = await run(project, 'node', ['--import', 'tsx', 'progress.ts', context]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`done 300 ${context}`));
      assert.doesNotMatch(result.stderr, /300\/300/);
    }
  });

  it('draws a progress bar in a real terminal (tmux)', async () => {
    const session = `mpool-progress-${process.pid}`;
    const exitFile = join(project, 'progress.exit');
    const script = `node --import tsx progress.ts > progress.out; echo $? > ${exitFile}; sleep 60`;
    execFileSync(
      'tmux',
      ['new-session', '-d', '-s', session, '-x', '120', '-y', '10', '-c', project, script],
      { env },
    );
    try {
      const deadline = Date.now() + 60_000;
      while (!existsSync(exitFile) && Date.now() < deadline) await sleep(100);
      assert.ok(existsSync(exitFile), 'the script exited by itself');
      assert.equal(readFileSync(exitFile, 'utf8').trim(), '0');
      const screen = execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
      // Done of total, the rate, the time taken and the time left.
      assert.match(screen, /100% \| 300\/300 \| [\d.]+[kM]?\/s \| [\d.]+s \| ETA 0\.0s/, screen);
      assert.match(readFileSync(join(project, 'progress.out'), 'utf8'), /done 300 thread/);
    } finally {
      execFileSync('tmux', ['kill-session', '-t', session]);
    }
  });
});

describe('the worker CLI (`npx mpool worker`) from the installed package', () => {
  let redis: RedisServer;
  const nodes: ChildProcess[] = [];
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    for (const node of nodes) node.kill('SIGKILL');
    await redis?.stop();
  });

  /** Starts a node; resolves with its pid once it has said it started. */
  function startNode(
    queue: string,
    tasks: string,
  ): Promise<{ child: ChildProcess; pid: number; log: () => string }> {
    const child = spawn(
      'npx',
      ['mpool', 'worker', '--redis', redis.url, '--queue', queue, '--tasks', tasks, '--processes', '2'],
      { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    nodes.push(child);
    let log = '';
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the node did not start:\n${log}`)), 60_000);
      const check = (): void => {
        const started = /worker node \S+:(\d+) started: .*2 threads, tasks: (.*);/.exec(log);
        if (!started) return;
        clearTimeout(timer);
        assert.match(started[2]!, /\badd\b/);
        resolve({ child, pid: Number(started[1]), log: () => log });
      };
      child.stdout!.on('data', check);
      child.on('exit', () => reject(new Error(`the node exited before it started:\n${log}`)));
    });
  }

  async function gone(pid: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await processGone(pid)) return true;
      await sleep(100);
    }
    return false;
  }

  it('runs .ts task modules, and stops when npx is sent SIGTERM (its parent goes away)', async () => {
    const node = await startNode('consumer-ts', './tasks.ts');
    const submitted = await run(project, 'node', ['--import', 'tsx', 'submit.ts', redis.url, 'consumer-ts']);
    assert.equal(submitted.code, 0, submitted.stderr + node.log());
    assert.match(submitted.stdout, /remote \[10,20,30\] \[3\]/);
    // npm runs the bin under `sh -c` and does not pass SIGTERM on: the node must notice its parent is gone.
    node.child.kill('SIGTERM');
    assert.ok(await gone(node.pid, 10_000), `the node (pid ${node.pid}) outlived npx:\n${node.log()}`);
    assert.match(node.log(), /parent process .*gone|stopped/i);
  });

  it('runs compiled .js task modules, and stops on SIGTERM sent to it', async () => {
    const compiled = await run(project, 'npx', ['tsc', '-p', 'tsconfig.json']);
    assert.equal(compiled.code, 0, compiled.stdout);
    const node = await startNode('consumer-js', './build/tasks.js');
    const submitted = await run(project, 'node', ['build/submit.js', redis.url, 'consumer-js']);
    assert.equal(submitted.code, 0, submitted.stderr + node.log());
    assert.match(submitted.stdout, /remote \[10,20,30\] \[3\]/);
    process.kill(node.pid, 'SIGTERM');
    assert.ok(await gone(node.pid, 10_000), `the node (pid ${node.pid}) did not stop:\n${node.log()}`);
  });
});
