// A TypeScript task module in a project without tsx: the call fails with a message that says what to do.
import { Pool } from 'mpool';

const { scaled } = await import('./typed-task-ref.mjs');
for (const context of ['thread', 'process']) {
  const pool = new Pool({ processes: 1, context });
  try {
    await pool.map(scaled, [1]);
    console.log(`loaded ${context}`);
  } catch (err) {
    console.log(`${context}: ${err.message}`);
  }
  await pool.terminate();
}
