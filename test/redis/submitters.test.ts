// A node's watch on submitters: it forgets the ones it no longer serves, so a long-lived node does not keep
// every submitter it ever looked up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { SubmitterWatch } from '../../src/redis/submitters.js';

describe("a node's watch on submitters", () => {
  it('forgets, after a minute, the heartbeats of submitters whose chunks it refused or no longer runs', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
    let lookups = 0;
    const cmd = {
      exists: async () => {
        lookups++;
        return 0; // every one of them is gone
      },
      del: async () => 0,
    } as unknown as Redis;
    const jobs = { remove: async () => 0 } as unknown as Queue;
    const watch = new SubmitterWatch(cmd, jobs, { prefix: 'bull', queue: 'q' }, new Map(), () => {});
    try {
      const ids = Array.from({ length: 500 }, (_, i) => i.toString(16).padStart(16, '0'));
      for (const id of ids) assert.equal(await watch.isGone(id), true);
      assert.equal(watch.remembered, 500);
      // Within the check interval an answer is reused, not looked up again.
      assert.equal(await watch.isGone(ids[0]!), true);
      assert.equal(lookups, 500);
      t.mock.timers.tick(30_000);
      assert.equal(watch.remembered, 500, 'still remembered after 30 s');
      t.mock.timers.tick(31_000);
      assert.equal(watch.remembered, 0);
    } finally {
      watch.stop();
    }
  });
});
