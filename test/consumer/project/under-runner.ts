// Run by `node --test` with flags in both forms (named without .test.ts, so only the consumer suite runs it);
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as mpool from 'mpool';
import { exercise } from './exercise.mjs';
import { scaled } from './needs-tsx.js';
import * as tasks from './tasks.js';

test('pool under the test runner', async () => {
  assert.equal((globalThis as { setupRan?: boolean }).setupRan, true, 'the -r module ran');
  await exercise(mpool, { ...tasks, scaled });
});
