import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTsxLoader, parseNodeOptions, toArgv, tsxRoot, workerOptions } from '../src/runtime/node-flags.js';

describe("Node's option grammar for workers", () => {
  it('keeps a flag and its value together, in both forms', () => {
    assert.deepEqual(parseNodeOptions(['--test-timeout', '60000', '--test-name-pattern=x', '-r', 'a']), [
      ['--test-timeout', '60000'],
      ['--test-name-pattern=x'],
      ['-r', 'a'],
    ]);
    // A pattern may start with a dash; the script is never in execArgv, so a bare token is always a value.
    assert.deepEqual(
      parseNodeOptions(['--test-name-pattern', '-x', '--enable-source-maps', '--foo', 'bar']),
      [['--test-name-pattern', '-x'], ['--enable-source-maps'], ['--foo', 'bar']],
    );
  });

  it('drops what would make a worker a test runner, debugger or watcher, with the values', () => {
    const argv = [
      '--test',
      '--test-timeout',
      '60000',
      '--test-name-pattern',
      'x',
      '--inspect-port',
      '9231',
      '--conditions',
      'custom',
      '-r',
      './setup.cjs',
      '--watch-path=src',
      '-e',
      'code()',
      '--enable-source-maps',
    ];
    assert.deepEqual(toArgv(workerOptions(argv)), [
      '--conditions',
      'custom',
      '-r',
      './setup.cjs',
      '--enable-source-maps',
    ]);
  });

  it('knows tsx in every form the tsx command and users write it', () => {
    const cli = [
      '--require',
      '/p/node_modules/tsx/dist/preflight.cjs',
      '--import',
      'file:///p/node_modules/tsx/dist/loader.mjs',
    ];
    assert.deepEqual(workerOptions(cli), []);
    assert.equal(tsxRoot(parseNodeOptions(cli)), '/p/node_modules/tsx');
    for (const form of [['--import', 'tsx'], ['--import=tsx'], ['-r', 'tsx/cjs'], ['--loader', 'tsx/esm']]) {
      assert.ok(isTsxLoader(parseNodeOptions(form)[0]!), form.join(' '));
    }
    assert.ok(!isTsxLoader(['--import', './my-tsx-helpers.mjs']));
    assert.equal(tsxRoot(parseNodeOptions(['--import', 'tsx'])), undefined);
  });
});
