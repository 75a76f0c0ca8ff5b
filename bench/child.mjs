// A measurement child's entry: registers tsx from here rather than by `node --import tsx`, because a flag on
// the command line is inherited by every worker thread of every library (Worker's default execArgv), each
// of which would then load tsx again: tens of ms on every cold start, and not how the libraries are used.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./child.ts');
try {
  await main(process.argv.slice(2));
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
