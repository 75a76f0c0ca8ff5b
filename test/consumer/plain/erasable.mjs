// Maps a task of erasable.ts, referred to by URL as another process would, so the worker loads the .ts file
// itself: where Node strips types, with no tsx anywhere; elsewhere the call says what to install.
import { Pool, task } from 'mpool';

const shifted = task(new URL('./erasable.ts', import.meta.url), (x) => x);
for (const context of ['thread', 'process']) {
  const pool = new Pool({ processes: 2, context });
  try {
    console.log(`${context}: ${JSON.stringify(await pool.map(shifted, [1, 2, 3]))}`);
  } catch (err) {
    console.log(`${context}: ${err.message}`);
  }
  pool.close();
  await pool.join();
}
