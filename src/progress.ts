// Progress reporting for long calls: a callback, and a cli-progress bar on stderr when it is a terminal.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

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
  /** Milliseconds since the call started. */
  elapsedMs: number;
  /** Items finished per second so far. */
  perSecond: number;
  /** Milliseconds left at that rate, when the total is known and an item has finished; else undefined. */
  etaMs: number | undefined;
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
            format: `${label} {bar} {percentage}% | {value}/{total}${settled ? ' | {failed} failed' : ''} | {rate}/s | {elapsed} | ETA {timeLeft}`,
            hideCursor: true,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  if (!bar && !onProgress) return undefined;
  let started = false;
  const startedAt = performance.now();
  return {
    update(done, total, failed) {
      const elapsedMs = performance.now() - startedAt;
      const perSecond = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
      const etaMs = total !== undefined && perSecond > 0 ? ((total - done) * 1000) / perSecond : undefined;
      if (bar) {
        const payload = {
          failed,
          rate: formatRate(perSecond),
          elapsed: formatDuration(elapsedMs),
          // Not `eta` or `duration`: cli-progress fills those tokens itself, over any payload.
          timeLeft: etaMs === undefined ? '?' : formatDuration(etaMs),
        };
        if (!started) {
          bar.start(total ?? done, 0, payload);
          started = true;
        }
        if (total !== undefined) bar.setTotal(total);
        else if (done > bar.getTotal()) bar.setTotal(done);
        bar.update(done, payload);
      }
      if (onProgress) {
        try {
          onProgress({ done, total, failed, elapsedMs, perSecond, etaMs });
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

/** 12.3k, 4.56M: a rate as the bar shows it. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}

/** 0.4s, 12s, 3m05s, 1h02m: a duration as the bar shows it. */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
