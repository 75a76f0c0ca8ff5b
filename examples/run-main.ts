// Lets each example run on its own (`tsx examples/squares.ts`) and also be imported by the demo.
import { pathToFileURL } from 'node:url';

export async function runIfMain(moduleUrl: string, main: () => Promise<void>): Promise<void> {
  const entry = process.argv[1];
  if (entry && pathToFileURL(entry).href === moduleUrl) await main();
}
