// A worker's own stdout and stderr, as the loop waits on them: both reach the pool asynchronously (a thread's
// through messages the pool must acknowledge, a child's through a pipe), and what is still on its way when the
// worker is stopped or exits is lost.

/** Resolves once everything written so far to this worker's stdout and stderr has left it; undefined if it has. */
export function outputPending(): Promise<void> | undefined {
  const out = pending(process.stdout);
  const err = pending(process.stderr);
  if (!out && !err) return undefined;
  return Promise.all([out, err]).then(() => undefined);
}

function pending(stream: NodeJS.WriteStream): Promise<void> | undefined {
  // A task may end or break its own stream: nothing more can go through it, so nothing is waited for.
  if (stream.writableLength === 0 || stream.writableEnded || stream.destroyed) return undefined;
  // An empty write's callback runs once every write queued before it has gone.
  return new Promise((resolve) => stream.write('', () => resolve()));
}
