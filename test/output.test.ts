// Issue 13: everything a worker writes to stdout and stderr reaches the parent's streams, with backpressure
// rather than loss, however the pool ends; a worker that ends its own stdout harms nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONTEXTS } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/output-parent.ts', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the output fixture with pipes for stdout and stderr, as a shell pipeline or a test runner gives it. */
function run(args: Array<string | number>): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args.map(String)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (data: string) => (stdout += data));
  child.stderr.setEncoding('utf8').on('data', (data: string) => (stderr += data));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/**
 * Asserts the script ended well and `text` holds exactly the workers' `lines` lines of `bytes` bytes. Counted in
 * bytes: two workers' long lines may interleave in the parent, as two processes' writes to one pipe do.
 */
function assertLines(result: Run, text: string, lines: number, bytes: number): void {
  assert.equal(
    result.code,
    0,
    `expected exit code 0, got ${result.code}; stderr: ${result.stderr.slice(0, 500)}`,
  );
  assert.match(result.stdout, /parent done\n$/, 'expected the parent to finish');
  const output = text.replace('parent done\n', '');
  const xs = output.split('x').length - 1;
  const newlines = output.split('\n').length - 1;
  assert.equal(xs, lines * (bytes - 1), `expected ${lines * (bytes - 1)} bytes of lines, got ${xs}`);
  assert.equal(newlines, lines, `expected ${lines} line ends, got ${newlines}`);
  assert.equal(output.length, lines * bytes, `expected only the workers' lines, got ${output.length} bytes`);
}

for (const context of CONTEXTS) {
  describe(`worker output (${context})`, () => {
    it('1 MiB written to stdout in one call, then close() and join(): all of it reaches the parent', async () => {
      const result = await run([context, 'stdout', 'join', 1, 1024 * 1024]);
      assertLines(result, result.stdout, 1, 1024 * 1024);
    });

    it('50 MiB to stderr, then close() and join(): all of it, with backpressure', async () => {
      const result = await run([context, 'stderr', 'join', 50, 1024 * 1024]);
      assertLines(result, result.stderr, 50, 1024 * 1024);
    });

    it('20,000 console lines, then terminate(): every line of the finished tasks arrives', async () => {
      const result = await run([context, 'stdout', 'terminate', 20_000, 100]);
      assertLines(result, result.stdout, 20_000, 100);
    });

    it('a worker that ends its own stdout harms nothing: the parent and the other workers still write', async () => {
      const result = await run([context, 'stdout', 'end-stdout', 10, 10]);
      assert.equal(
        result.code,
        0,
        `expected exit code 0, got ${result.code}; stderr: ${result.stderr.slice(0, 500)}`,
      );
      assert.equal(result.stderr, '', 'expected nothing on stderr (no EPIPE)');
      assert.match(result.stdout, /parent done\n$/, 'expected the parent to finish');
    });
  });
}
