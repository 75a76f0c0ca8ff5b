// after(): timers of any length, checked on Node's mock clock.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { after } from '../src/timer.js';

describe('after', () => {
  it('waits out a delay beyond 2^31 - 1 ms in steps, and calls once at the end', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let calls = 0;
      after(2 ** 31 + 1000, () => calls++);
      mock.timers.tick(2 ** 31 - 1);
      assert.equal(calls, 0, 'called at the first step');
      mock.timers.tick(1000);
      assert.equal(calls, 0, 'called before its time');
      mock.timers.tick(1);
      assert.equal(calls, 1);
      mock.timers.tick(2 ** 31);
      assert.equal(calls, 1);
    } finally {
      mock.timers.reset();
    }
  });

  it('clear() cancels it between steps; Infinity never calls', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let calls = 0;
      const timer = after(2 ** 32, () => calls++);
      after(Number.POSITIVE_INFINITY, () => calls++);
      mock.timers.tick(2 ** 31);
      timer.clear();
      mock.timers.tick(2 ** 33);
      assert.equal(calls, 0);
    } finally {
      mock.timers.reset();
    }
  });
});
