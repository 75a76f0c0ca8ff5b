// `npm run demo`: runs every example of the seed tutorial in turn and prints its results.
import { main as errorCallback } from './error-callback.js';
import { main as largeData } from './large-data.js';
import { main as poolSize } from './pool-size.js';
import { main as slowTasks } from './slow-tasks.js';
import { main as squares } from './squares.js';

const examples: Array<[string, () => Promise<void>]> = [
  ['squares (map_async with return values)', squares],
  ['large data (1,000,000 items, chunksize 1000)', largeData],
  ['slow tasks (five 1-second tasks)', slowTasks],
  ['pool size (cpuCount())', poolSize],
  ['error callback (divide)', errorCallback],
];

for (const [title, run] of examples) {
  console.log(`\n== ${title} ==`);
  await run();
}
