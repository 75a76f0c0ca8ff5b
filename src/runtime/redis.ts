// The executor on Redis: each chunk is one BullMQ job, run by worker nodes (`mpool worker`). Starts and
// outcomes come back through this submitter's own stream (redis/results.ts), never BullMQ's shared events,
// and a sweep reads the stored job for any chunk whose word never came: a failure BullMQ decides itself (a
// chunk stalled too often), or an outcome lost with a connection (then the chunk runs again).
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { RedisUnavailableError, WorkerLostError } from '../errors.js';
import type { ChunkJob, ChunkResult, Executor, ExecutorHooks } from '../executor.js';
import type { PoolStats } from '../insight/stats.js';
import type { ResolvedRedisOptions } from '../options.js';
import { type Entry, RedisBooks } from '../redis/books.js';
import { createClient } from '../redis/client.js';
import { RedisJobs } from '../redis/jobs.js';
import { ResultsReader } from '../redis/results.js';
import { aliveKey, decodeFailure, decodeResult, resultsKey } from '../redis/wire.js';

// Tunables. Outcomes in this submitter's stream normally settle chunks; the sweep looks chunks up once the
// stream has been quiet this long (and, while it is busy, every BUSY_SWEEP_MS), and backs off per chunk, so a
// map of thousands of slow chunks costs Redis little.
const TICK_MS = 500;
const QUIET_MS = 2000;
const BUSY_SWEEP_MS = 10_000;
const MAX_CHECK_EVERY_MS = 30_000;
const SWEEP_BATCH = 200;
const MAX_READDS = 3;
// How often the submitter renews its heartbeat (which lives for its redisTimeout; see aliveKey).
const HEARTBEAT_MS = 1000;
const STOP_BUDGET_MS = 1500;

const noop = (): void => {};

// BullMQ still writes its shared event stream, which no submitter reads (see above): a failed job's event
// carries its error, and a completed one's only SENT. Its default length, 10,000 events, is kept shorter.
const EVENTS_MAX_LEN = 256;

export class RedisExecutor implements Executor {
  readonly size: number;
  readonly #options: ResolvedRedisOptions;
  readonly #hooks: ExecutorHooks;
  /** Job ids are `<this submitter's random id>-<chunk id>`: unique across submitters, and dedupe by chunk. */
  readonly #tag = randomBytes(8).toString('hex');
  readonly #aliveKey: string;
  #beatAt = 0;
  readonly #cmd: Redis;
  readonly #queue: Queue;
  readonly #results: ResultsReader;
  readonly #resultsKey: string;
  /** Every chunk in flight, and where it is: what stats() and mpool:chunk report. */
  readonly #entries: RedisBooks;
  /** Adds, removes and cancels jobs. */
  readonly #jobs: RedisJobs;
  #state: 'running' | 'closing' | 'stopped' = 'running';
  #whenIdle: (() => void) | null = null;
  #downSince: number | null = null;
  #recheckAll = false;
  #lastEventAt = Date.now();
  #lastSweepAt = Date.now();
  #sweeping = false;
  #lastError: Error | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(size: number, options: ResolvedRedisOptions, hooks: ExecutorHooks) {
    this.size = size;
    this.#options = options;
    this.#hooks = hooks;
    this.#entries = new RedisBooks(hooks.pool);
    const conn = options.connection;
    this.#cmd = createClient(conn, 'mpool:submitter');
    // Outages are judged by the watchdog below, not by each socket error; the last one becomes its cause.
    this.#cmd.on('error', (err: Error) => {
      this.#lastError = err;
    });
    this.#aliveKey = aliveKey(conn.prefix, options.queue, this.#tag);
    this.#resultsKey = resultsKey(conn.prefix, options.queue, this.#tag);
    this.#cmd.on('ready', () => {
      // First on a new connection: before any chunk is added again, nodes must find this submitter alive,
      // and its stream there (nodes never make one: see sendOutcome).
      this.#beat(true);
      if (this.#downSince !== null) this.#recheckAll = true;
      this.#downSince = null;
    });
    this.#queue = new Queue(options.queue, {
      connection: this.#cmd as never,
      prefix: conn.prefix,
      streams: { events: { maxLen: EVENTS_MAX_LEN } },
    });
    this.#queue.on('error', noop);
    // Starts and outcomes wait in this submitter's own stream until read: none can slip by before this reads.
    this.#results = new ResultsReader(
      createClient(conn, 'mpool:results'),
      this.#cmd,
      this.#resultsKey,
      (jobId, outcome) => this.#onEvent(jobId, outcome),
      (jobId) => this.#onActive(jobId),
    );
    this.#jobs = new RedisJobs({
      queue: this.#queue,
      cmd: this.#cmd,
      options,
      books: this.#entries,
      stopped: () => this.#state === 'stopped',
      settle: (entry, result) => this.#settle(entry, result),
      firstCheckMs: QUIET_MS,
    });
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  /** The nodes own their workers: as far as the submitter knows, `processes` of them. */
  get workers(): number {
    return this.size;
  }

  /** Chunks not yet running, as far as this submitter can tell without asking Redis: those beyond its workers. */
  get queued(): number {
    return this.#entries.size - this.size;
  }

  /** What this submitter knows: its own chunks. The nodes' workers are theirs (see README). */
  stats(): Omit<PoolStats, 'runtime'> {
    return this.#entries.stats();
  }

  submit(job: ChunkJob): void {
    if (this.#state === 'stopped') return;
    const entry = this.#entries.add(job, `${this.#tag}-${job.id}`, QUIET_MS);
    void this.#jobs.add(entry);
  }

  cancel(ids: ReadonlySet<number>, stopRunning: boolean): void {
    const dropped: Entry[] = [];
    for (const id of ids) {
      const entry = this.#entries.drop(id);
      if (entry) dropped.push(entry);
    }
    if (dropped.length > 0) void this.#jobs.drop(dropped, stopRunning);
    this.#checkIdle();
  }

  close(): Promise<void> {
    if (this.#state === 'stopped') return Promise.resolve();
    this.#state = 'closing';
    return new Promise<void>((resolve) => {
      this.#whenIdle = resolve;
      this.#checkIdle();
    }).then(() => this.#shutdown(false));
  }

  async terminate(): Promise<void> {
    if (this.#state === 'stopped') return;
    const dropped = this.#entries.dropAll();
    this.#jobs.clear();
    this.#state = 'stopped';
    this.#whenIdle?.();
    if (dropped.length > 0 && this.#downSince === null) {
      await withinBudget(this.#jobs.drop(dropped, true));
    }
    await this.#shutdown(true);
  }

  // ---- Submitting -----------------------------------------------------------------------------------------

  // ---- Results --------------------------------------------------------------------------------------------

  #entryOf(jobId: string): Entry | undefined {
    if (!jobId.startsWith(`${this.#tag}-`)) return undefined;
    const entry = this.#entries.get(Number(jobId.slice(this.#tag.length + 1)));
    return entry?.jobId === jobId ? entry : undefined;
  }

  #onEvent(jobId: string, outcome: { returnvalue?: unknown; failedReason?: string }): void {
    if (!jobId.startsWith(`${this.#tag}-`)) return; // not a chunk of this submitter's (the stream is its own)
    this.#lastEventAt = Date.now();
    const entry = this.#entryOf(jobId);
    if (!entry) {
      // A late or second result (or a cancelled chunk finishing): already settled, only tidy up.
      this.#jobs.finishedZombie(jobId);
      return;
    }
    this.#settleFrom(entry, outcome);
  }

  #settleFrom(entry: Entry, outcome: { returnvalue?: unknown; failedReason?: string }): void {
    let result: ChunkResult;
    if (outcome.failedReason !== undefined) {
      result = { ok: false, error: decodeFailure(outcome.failedReason) };
    } else {
      try {
        result = { ok: true, values: decodeResult(outcome.returnvalue, this.#options.maxPayloadBytes) };
      } catch (error) {
        result = { ok: false, error };
      }
    }
    // A completed job is gone already (removeOnComplete); a failed one is kept for the sweep until read.
    if (outcome.failedReason !== undefined) this.#jobs.remove(entry.jobId);
    this.#settle(entry, result);
  }

  // A node took the chunk: from here it runs (as far as the submitter can tell: the event comes through Redis).
  #onActive(jobId: string): void {
    const entry = this.#entryOf(jobId);
    if (entry) this.#entries.started(entry);
  }

  #settle(entry: Entry, result: ChunkResult): void {
    if (!this.#entries.settled(entry, result)) return;
    this.#hooks.settle(entry.job, result);
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.#entries.size > 0 || !this.#whenIdle) return;
    const resolve = this.#whenIdle;
    this.#whenIdle = null;
    resolve();
  }

  // ---- Watchdog and sweep ---------------------------------------------------------------------------------

  /** Renews the heartbeat, so nodes go on running this submitter's chunks. */
  #beat(connected = false): void {
    this.#beatAt = Date.now();
    const { redisTimeout } = this.#options;
    this.#cmd.set(this.#aliveKey, '1', 'PX', redisTimeout).catch(noop);
    // Its stream, made (again) should it be missing: a Redis restarted without its data, or a node that
    // found this submitter gone while its event loop was blocked. The entry that makes it is read and skipped.
    if (connected || this.#entries.size > 0) this.#cmd.xadd(this.#resultsKey, '*', 'x', '1').catch(noop);
    // Unread results expire with the heartbeat should this submitter die (nodes delete them sooner).
    this.#cmd.pexpire(this.#resultsKey, redisTimeout).catch(noop);
  }

  #tick(): void {
    if (this.#state === 'stopped') return;
    const now = Date.now();
    if (now - this.#beatAt >= HEARTBEAT_MS && this.#cmd.status === 'ready') this.#beat();
    if (this.#cmd.status !== 'ready') {
      this.#downSince ??= now;
      if (now - this.#downSince > this.#options.redisTimeout && this.#entries.size > 0) {
        this.#state = 'closing'; // stop ticking into fatal again; the pool terminates us next
        clearInterval(this.#timer);
        this.#hooks.fatal(
          new RedisUnavailableError(this.#options.connection.label, now - this.#downSince, {
            cause: this.#lastError,
          }),
        );
      }
      return;
    }
    if (this.#sweeping || this.#entries.size === 0) return;
    const quiet = now - this.#lastEventAt >= QUIET_MS;
    if (!this.#recheckAll && !quiet && now - this.#lastSweepAt < BUSY_SWEEP_MS) return;
    this.#lastSweepAt = now;
    void this.#sweep(now);
  }

  /** Looks up chunks that have been quiet too long: fills in results whose event was lost, re-adds lost jobs. */
  async #sweep(now: number): Promise<void> {
    this.#sweeping = true;
    const all = this.#recheckAll;
    this.#recheckAll = false;
    try {
      const due: Entry[] = [];
      for (const entry of this.#entries.values()) {
        if (entry.added && (all || entry.nextCheck <= now)) due.push(entry);
        if (due.length >= SWEEP_BATCH && !all) break;
      }
      const vanished: Entry[] = [];
      for (let i = 0; i < due.length && this.#state !== 'stopped'; i += SWEEP_BATCH) {
        const batch = due.slice(i, i + SWEEP_BATCH);
        const jobs = await Promise.all(batch.map((entry) => this.#queue.getJob(entry.jobId)));
        for (let k = 0; k < batch.length; k++) {
          if (this.#check(batch[k]!, jobs[k], now)) vanished.push(batch[k]!);
        }
      }
      if (vanished.length === 0) return;
      // A finished job is removed on completion, so a chunk whose outcome waits unread in this submitter's
      // stream (its reader is behind, or reconnecting) looks vanished too: read the stream first.
      await this.#results.catchUp();
      for (const entry of vanished) if (this.#entries.live(entry)) this.#rerun(entry);
    } catch {
      // Redis went away mid-sweep: the watchdog takes over, and a full sweep follows the reconnect.
    } finally {
      this.#sweeping = false;
    }
  }

  /** Settles the chunk if its job says how it ended; true if the job is gone. */
  #check(entry: Entry, job: Awaited<ReturnType<Queue['getJob']>>, now: number): boolean {
    if (!this.#entries.live(entry) || !entry.added) return false;
    if (!job) return true;
    if (job.finishedOn) {
      if (typeof job.failedReason === 'string' && job.failedReason !== '' && !job.returnvalue) {
        this.#settleFrom(entry, { failedReason: job.failedReason });
      } else {
        this.#settleFrom(entry, { returnvalue: job.returnvalue });
      }
      return false;
    }
    entry.checkEvery = Math.min(entry.checkEvery * 2, MAX_CHECK_EVERY_MS);
    entry.nextCheck = now + entry.checkEvery;
    return false;
  }

  // Gone from Redis without an outcome: a restart without persistence, eviction, or an outcome lost with a
  // connection. Run it again.
  #rerun(entry: Entry): void {
    if (++entry.readded > MAX_READDS) {
      this.#settle(entry, {
        ok: false,
        error: new WorkerLostError({
          exitCode: null,
          signal: null,
          kind: 'vanished',
          reason: `its job vanished from Redis ${MAX_READDS} times (is Redis restarting, or evicting keys?)`,
        }),
      });
      return;
    }
    this.#jobs.readd(entry);
  }

  // ---- Shutdown -------------------------------------------------------------------------------------------

  async #shutdown(force: boolean): Promise<void> {
    this.#state = 'stopped';
    clearInterval(this.#timer);
    const reachable = this.#cmd.status === 'ready';
    if (reachable && !force) await withinBudget(this.#jobs.flushRemovals());
    await withinBudget(this.#results.stop());
    if (reachable) await withinBudget(this.#cmd.del(this.#aliveKey, this.#resultsKey).catch(noop));
    // Disconnecting first fails whatever waits in ioredis' offline queue, so nothing below can hang.
    if (!reachable || force) this.#cmd.disconnect();
    // ioredis leaves commands queued while it was reconnecting pending forever after disconnect(): don't wait on them.
    await withinBudget(this.#queue.close());
    if (reachable && !force) await withinBudget(this.#cmd.quit());
    this.#cmd.disconnect();
  }
}

/** Waits for `work`, but no longer than a moment: shutting down must not hang on an unreachable Redis. */
async function withinBudget(work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(noop),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_BUDGET_MS);
    }),
  ]);
  clearTimeout(timer);
}
