// Progress reporting for long calls: a callback, and a cli-progress bar on stderr when it is a terminal.
import { createRequire } from 'node:module';

// cli-progress is loaded the first time a bar is drawn, not with mpool: importing it costs about 10 ms.
const requireHere = createRequire(import.meta.url);
let cliProgress: typeof import('cli-progress') | undefined;

export interface Progress {
  /** Items finished so far. */
  done: number;
  /** Items in all, when known (arrays, or once the input is exhausted). */
  total: number | undefined;
  /** Items that failed, among those done: only `settle: true` calls go on past a failure. */
  failed: number;
}

export interface ProgressOptions {
  /** Draw a progress bar on stderr (only when stderr is a TTY). @default false */
  progress?: boolean | undefined;
  /** Called as chunks finish. */
  onProgress?: ((progress: Progress) => void) | undefined;
}

export interface ProgressReporter {
  update(done: number, total: number | undefined, failed: number): void;
  stop(): void;
}

/** `settled`: the call goes on past failures (`settle: true`), so the bar counts them. */
export function createProgress(
  options: ProgressOptions,
  label: string,
  settled = false,
): ProgressReporter | undefined {
  const { onProgress } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new TypeError(
      `Expected \`onProgress\` to be a function, got \`${String(onProgress)}\` (${typeof onProgress})`,
    );
  }
  const draw = Boolean(options.progress) && process.stderr.isTTY;
  if (draw) cliProgress ??= requireHere('cli-progress') as typeof import('cli-progress');
  const bar =
    draw && cliProgress
      ? new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `${label} {bar} {percentage}% | {value}/{total}${settled ? ' | {failed} failed' : ''} | {eta_formatted} left`,
            hideCursor: true,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  if (!bar && !onProgress) return undefined;
  let started = false;
  return {
    update(done, total, failed) {
      if (bar) {
        if (!started) {
          bar.start(total ?? done, 0, { failed: 0 });
          started = true;
        }
        if (total !== undefined) bar.setTotal(total);
        else if (done > bar.getTotal()) bar.setTotal(done);
        bar.update(done, { failed });
      }
      if (onProgress) {
        try {
          onProgress({ done, total, failed });
        } catch (err) {
          // Progress is advisory: its failure must not fail the work, but it must not vanish either.
          process.emitWarning(
            `onProgress threw: ${err instanceof Error ? err.message : String(err)}`,
            'MpoolWarning',
          );
        }
      }
    },
    stop() {
      if (bar && started) bar.stop();
    },
  };
}
