// A worker node: a BullMQ Worker whose chunks run on this machine's own mpool Pool, so user code never blocks the
// event loop that renews BullMQ's locks (chunks measured to take microseconds run on the node's own thread: runner.ts).
// Started by `mpool worker`; stops gracefully, releasing what it cannot finish.
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { type Job, Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { TaskRefusedError } from '../errors.js';
import { Pool } from '../pool.js';
import { Cancels } from './cancels.js';
import { bullConnection, createClient } from './client.js';
import type { ResolvedConnection } from './connection.js';
import { resolveTask } from './resolve.js';
import { type Outcome, sendOutcome } from './results.js';
import { ChunkRunner, shiftIndex } from './runner.js';
import { type Running, SubmitterWatch } from './submitters.js';
import { loadTaskTable } from './tasks.js';
import {
  cancelChannel,
  decodeItems,
  encodeFailure,
  type JobData,
  type JobResult,
  parseJobData,
  resultsKey,
  SENT,
  submitterOf,
} from './wire.js';

type AnyFn = (...args: any[]) => unknown;

export interface NodeOptions {
  connection: ResolvedConnection;
  queue: string;
  /** Task modules: their exported functions are what this node runs, by name. */
  tasks: string[];
  processes: number;
  context: 'thread' | 'process';
  /** Run inline functions whose HMAC verifies with `secret`. */
  allowInline: boolean;
  secret: string | null;
  maxPayloadBytes: number;
  lockDuration: number;
  stalledInterval: number;
  maxStalled: number;
  /** Milliseconds running chunks get to finish on shutdown before they are released to other nodes. */
  grace: number;
  name: string;
  /** Chunks measured to take less than this many ms run on the node's own thread (see runner.ts); 0: never. */
  inlineUnderMs: number;
  /** Leave out the line per chunk. */
  quiet: boolean;
  log: (line: string) => void;
}

export interface WorkerNode {
  /** Stops taking chunks, finishes (or after `grace`, releases) the running ones, and closes. A second call releases at once. */
  stop(): Promise<void>;
  /** Settles once the node has stopped. */
  readonly stopped: Promise<void>;
}

export function defaultNodeName(): string {
  return `${hostname()}:${process.pid}`;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message.split('\n', 1)[0]}` : String(err);
}

/** Says so when Redis may evict keys under memory pressure: queued chunks and results would vanish. */
async function checkEviction(client: Redis, log: (line: string) => void): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await client.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch {
    return; // CONFIG is often disabled on managed Redis: nothing to tell then.
  }
  if (policy !== undefined && policy !== 'noeviction') {
    log(
      `warning: Redis's maxmemory-policy is ${policy}, not noeviction: under memory pressure Redis may evict ` +
        'queued chunks and their results, and calls then wait for them in vain. Set maxmemory-policy noeviction.',
    );
  }
}

export async function startNode(options: NodeOptions): Promise<WorkerNode> {
  const { log, connection: conn } = options;
  const table = await loadTaskTable(options.tasks);
  const pool = new Pool({ processes: options.processes, context: options.context });
  const running = new Map<string, Running>();
  const cancels = new Cancels(running, log);
  const runner = new ChunkRunner(pool, options.inlineUnderMs, options.maxPayloadBytes);
  let done = 0;
  let failed = 0;

  // Submitters' heartbeats, looked up at most once a check interval each; chunks of a submitter that went
  // away are dropped (queued), stopped (running) and removed (finished, their results never to be read).
  const cmd = createClient(conn, 'mpool:node-cmd');
  cmd.on('error', () => {});
  const jobs = new Queue(options.queue, {
    connection: cmd as never,
    prefix: conn.prefix,
    skipMetasUpdate: true,
  });
  jobs.on('error', () => {});
  const watch = new SubmitterWatch(cmd, jobs, { prefix: conn.prefix, queue: options.queue }, running, log);
  const { dropped } = watch;

  // A chunk's outcome goes to its submitter's own stream (see resultsKey), just ahead of the job's completion
  // or failure on the same connection; the job's return value is then only SENT.
  let bullClient: Redis | null = null;
  const send = async (jobId: string, outcome: Outcome): Promise<boolean> => {
    const submitter = submitterOf(jobId);
    if (submitter === undefined || dropped.has(jobId)) return false;
    bullClient ??= (await worker.getBackend().client) as unknown as Redis;
    watch.served(submitter);
    sendOutcome(bullClient, resultsKey(conn.prefix, options.queue, submitter), jobId, outcome);
    return true;
  };
  const fail = async (jobId: string, err: unknown): Promise<never> => {
    const failedReason = encodeFailure(err);
    await send(jobId, { failedReason });
    throw new UnrecoverableError(failedReason);
  };

  const refuse = (job: Job, err: unknown): Promise<never> => {
    failed++;
    log(`chunk ${job.id} refused: ${describe(err)}`);
    return fail(String(job.id), err);
  };

  // BullMQ may hand this node a chunk again while its first run goes on (stalled, then recovered): each run
  // takes out only its own entry.
  const forget = (id: string, run: Running): void => {
    if (running.get(id) === run) running.delete(id);
  };

  const processor = async (job: Job, token?: string): Promise<JobResult> => {
    const started = performance.now();
    let data: JobData;
    let fn: AnyFn;
    let items: unknown[];
    try {
      data = parseJobData(job.data, options.maxPayloadBytes);
      fn = resolveTask(data, table, options);
      items = decodeItems(data.items);
    } catch (err) {
      return refuse(job, err);
    }
    const id = String(job.id);
    const submitter = submitterOf(job.id);
    // Registered before the first await, so a cancel that comes while the submitter is looked up still stops it.
    const run: Running = { controller: new AbortController(), released: false, cancelled: false, submitter };
    running.set(id, run);
    if (cancels.cancelledEarly(id)) run.cancelled = true;
    else if (submitter !== undefined && (await watch.isGone(submitter))) dropped.add(id);
    // Cancelled, or its submitter found gone (here, or by the watch's sweep while it was looked up): refused.
    const refusal = run.cancelled
      ? 'Its submitter cancelled it before it started.'
      : dropped.has(id)
        ? 'Its submitter is gone (no heartbeat for its redisTimeout), so the chunk was dropped.'
        : null;
    if (refusal !== null) {
      forget(id, run);
      return refuse(job, new TaskRefusedError(refusal));
    }
    try {
      // Only a chunk that goes to a worker says it started: one run here takes microseconds, and its start
      // would cost more than it tells.
      const result = await runner.run(data, fn, items, run.controller.signal, () => {
        void send(id, { started: true });
      });
      done++;
      if (!options.quiet) {
        log(
          `chunk ${id} done: ${items.length} item(s) of ${data.fn.name || 'anonymous'} in ${Math.round(performance.now() - started)} ms`,
        );
      }
      return (await send(id, { result })) ? SENT : result;
    } catch (err) {
      if (run.released && !run.cancelled && token) {
        // Shutting down: hand the chunk back to the queue now rather than after its lock expires.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      failed++;
      const why = dropped.has(id) ? ' (its submitter is gone)' : ' (cancelled by its submitter)';
      log(`chunk ${id} failed: ${describe(err)}${run.controller.signal.aborted ? why : ''}`);
      // A task's own error is final: BullMQ must not retry it (only a lost node's chunk runs again).
      return fail(id, shiftIndex(err, data.base));
    } finally {
      forget(id, run);
    }
  };

  // Submitters publish the ids of chunks to stop (cancellation, terminate): see cancels.ts.
  const sub = createClient(conn, 'mpool:node-cancel');
  let connected = false;
  sub.on('error', () => {});
  sub.on('ready', () => {
    if (!connected) log(`connected to ${conn.label}`);
    connected = true;
  });
  sub.on('close', () => {
    if (connected && !stopping) log(`lost the connection to ${conn.label}; reconnecting`);
    connected = false;
  });
  sub.on('message', (_channel: string, message: string) => cancels.heard(message));
  // Before the connection turns subscriber: a Redis that may evict keys can drop queued chunks and results.
  void checkEviction(sub, log);
  sub.subscribe(cancelChannel(conn.prefix, options.queue)).catch(() => {});

  const bull = bullConnection(conn, 'mpool:node');
  const worker = new Worker(options.queue, processor, {
    connection: bull.connection,
    prefix: conn.prefix,
    name: options.name,
    concurrency: options.processes,
    lockDuration: options.lockDuration,
    stalledInterval: options.stalledInterval,
    maxStalledCount: options.maxStalled,
  });
  let lastError = '';
  let lastErrorAt = 0;
  worker.on('error', (err) => {
    const line = describe(err);
    const now = Date.now();
    if (line === lastError && now - lastErrorAt < 10_000) return;
    lastError = line;
    lastErrorAt = now;
    log(`redis: ${line}`);
  });
  // A dropped chunk's job is removed once failed: nobody will read it.
  worker.on('failed', (job) => {
    const id = job?.id;
    if (id === undefined || !dropped.delete(id)) return;
    watch.removeJob(id);
  });
  worker.on('stalled', (jobId) =>
    log(`chunk ${jobId} stalled (its node stopped renewing the lock); back to the queue`),
  );

  const count = (n: number, noun: string): string =>
    `${n} ${noun}${n === 1 ? '' : noun === 'process' ? 'es' : 's'}`;
  const inline = options.allowInline ? 'inline functions allowed when signed' : 'inline functions refused';
  log(
    `worker node ${options.name} started: queue "${options.queue}" on ${conn.label}, ${count(options.processes, options.context)}, ` +
      `tasks: ${[...table.keys()].join(', ') || 'none'}; ${inline}`,
  );

  let stopping: Promise<void> | null = null;
  let released = false;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });

  const release = (): void => {
    if (released) return;
    released = true;
    if (running.size > 0) log(`releasing ${running.size} running chunk(s) back to the queue`);
    for (const run of running.values()) {
      run.released = true;
      run.controller.abort();
    }
  };

  const stop = (): Promise<void> => {
    if (stopping) {
      release();
      return stopping;
    }
    log(
      `shutting down: ${running.size} chunk(s) running, given ${Math.round(options.grace / 1000)} s to finish before they are released`,
    );
    const timer = setTimeout(release, options.grace);
    stopping = (async () => {
      // Released chunks end at once; if BullMQ still has not closed well after that (Redis unreachable, say),
      // stop waiting: their locks expire and other nodes recover them.
      let forced: NodeJS.Timeout | undefined;
      const closed = await Promise.race([
        worker.close().then(() => true),
        new Promise<false>((resolve) => {
          forced = setTimeout(() => resolve(false), options.grace + 10_000);
        }),
      ]);
      clearTimeout(forced);
      if (!closed) {
        released = true;
        log(
          'BullMQ did not close in time; stopping anyway (other nodes recover its chunks once their locks expire)',
        );
      }
      clearTimeout(timer);
      if (released) await pool.terminate();
      else {
        pool.close();
        await pool.join();
      }
      watch.stop();
      sub.disconnect();
      await jobs.close().catch(() => {});
      cmd.disconnect();
      bull.owned?.disconnect();
      log(`stopped: ${done} chunk(s) done, ${failed} failed`);
      resolveStopped();
    })();
    return stopping;
  };

  return { stop, stopped };
}
