// Child script for test_worker_finalization_via_atexit_handler_of_multiprocessing: a pool held by an object
// at module level, used once, and never closed. The process must still exit normally, with code 0.
import { Pool } from '../../src/index.js';

const context = process.argv[2] === 'process' ? 'process' : 'thread';

class A {
  readonly pool = new Pool({ processes: 1, context });
}

export let problem: A | null = null;

async function test(): Promise<void> {
  problem = new A();
  await problem.pool.map((x: number) => Number(x), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

await test();
