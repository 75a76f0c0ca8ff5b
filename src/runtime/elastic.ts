// An elastic pool (minProcesses < processes): more workers start while work waits and none is free, and a
// worker beyond the minimum that stays idle for idleTimeout is stopped and not replaced.
import type { ExecutorConfig } from '../executor.js';
import type { Slot } from './slot.js';

/** What growing and shrinking need of the executor. */
export interface ElasticHost {
  readonly config: ExecutorConfig;
  readonly slots: ReadonlySet<Slot>;
  /** Whether the executor takes work (not closing or stopped). */
  running(): boolean;
  /** Chunks that wait for a worker. */
  waiting(): number;
  /** Replacements that wait out a start-up backoff: workers to come. */
  pending(): number;
  startWorker(): void;
}

export class Elastic {
  readonly #host: ElasticHost;

  constructor(host: ElasticHost) {
    this.#host = host;
  }

  /** Starts workers while chunks wait that no worker can take, up to `size`. Returns whether it started any. */
  grow(): boolean {
    const host = this.#host;
    let grew = false;
    while (host.running() && host.waiting() > 0 && host.slots.size + host.pending() < host.config.size) {
      for (const slot of host.slots) if (slot.idle) return grew;
      host.startWorker();
      grew = true;
    }
    return grew;
  }

  /** Gives each worker that has nothing to do a timer; one idle that long is stopped (see retire). */
  shrinkLater(): void {
    for (const slot of this.#host.slots) {
      const idle = slot.idle && slot.ready && slot.holding === 0;
      if (!idle) {
        clearTimeout(slot.idleTimer);
        slot.idleTimer = undefined;
        continue;
      }
      if (slot.idleTimer) continue;
      slot.idleTimer = setTimeout(() => this.#retire(slot), this.#host.config.idleTimeout);
      slot.idleTimer.unref();
    }
  }

  #retire(slot: Slot): void {
    const host = this.#host;
    slot.idleTimer = undefined;
    const idle = slot.idle && slot.holding === 0 && host.slots.has(slot);
    if (!idle || !host.running()) return;
    // Workers idle since the same moment time out together: count those not already on their way out.
    let staying = 0;
    for (const other of host.slots) if (!other.retired) staying++;
    if (staying <= host.config.minSize) return;
    slot.stopGracefully('idle', "it was idle beyond the pool's minProcesses");
    slot.handle.send({ type: 'stop' }, []);
  }
}
