// Each submitter's own results stream (see resultsKey): a node adds a chunk's outcome (its result, or the error
// it failed with) just before it finishes the chunk's job, and only that submitter reads it, deleting what it
// has read. BullMQ's shared event stream then carries no results (a job's return value is only SENT), so no
// submitter reads another's, and one that falls behind finds its outcomes still there, however many other
// events the shared stream has dropped since (it keeps a bounded number; a result missed there cost a 2 s
// wait for the sweep).
import type { Redis } from 'ioredis';
import type { JobResult } from './wire.js';

// A blocked read returns at least this often, so that stop() is never kept waiting long; entries per read.
const READ_BLOCK_MS = 1000;
const READ_COUNT = 512;
// After a failed read (the connection dropped), before the next: ioredis reconnects meanwhile.
const RETRY_MS = 200;

const noop = (): void => {};

/** Whether stream id `a` (`<ms>-<seq>`) comes after `b`. */
function laterId(a: string, b: string): boolean {
  const [ams = '0', aseq = '0'] = a.split('-');
  const [bms = '0', bseq = '0'] = b.split('-');
  return ams.length !== bms.length
    ? ams.length > bms.length
    : ams !== bms
      ? ams > bms
      : Number(aseq) > Number(bseq);
}

/** What a node sends: that it started a chunk, the chunk's result, or the `failedReason` it fails its job with. */
export type Outcome = { started: true } | { result: JobResult } | { failedReason: string };

/**
 * Adds a chunk's outcome to its submitter's stream, on the connection that then completes or fails the chunk's
 * job (the Worker's own), without waiting: Redis runs the two in order, so a job never finishes before its
 * outcome is in the stream, and a connection lost before either leaves the job to be run again.
 */
export function sendOutcome(client: Redis, key: string, jobId: string, outcome: Outcome): void {
  const [field, value] =
    'result' in outcome
      ? ['r', JSON.stringify(outcome.result)]
      : 'failedReason' in outcome
        ? ['f', outcome.failedReason]
        : ['s', '1'];
  // NOMKSTREAM: a stream its submitter deleted (it stopped, or a node found it gone) stays deleted.
  client.xadd(key, 'NOMKSTREAM', '*', 'j', jobId, field, value).catch(noop);
}

/** A submitter's reader of its own results stream: hands each result on, then deletes what it read. */
export class ResultsReader {
  readonly #reader: Redis;
  readonly #cmd: Redis;
  readonly #key: string;
  readonly #onResult: (jobId: string, outcome: { returnvalue?: unknown; failedReason?: string }) => void;
  readonly #onStart: (jobId: string) => void;
  #lastId = '0-0';
  #stopped = false;
  readonly #done: Promise<void>;

  /** `reader`: a connection of its own, since its reads block; `cmd` deletes what was read. */
  constructor(
    reader: Redis,
    cmd: Redis,
    key: string,
    onResult: (jobId: string, outcome: { returnvalue?: unknown; failedReason?: string }) => void,
    onStart: (jobId: string) => void,
  ) {
    this.#reader = reader;
    // Outages are the executor's to judge (its watchdog); without a listener ioredis would print each error.
    reader.on('error', noop);
    this.#cmd = cmd;
    this.#key = key;
    this.#onResult = onResult;
    this.#onStart = onStart;
    this.#done = this.#loop();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = (await this.#reader.xread(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          READ_BLOCK_MS,
          'STREAMS',
          this.#key,
          this.#lastId,
        )) as typeof reply;
      } catch {
        if (this.#stopped) return;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        continue;
      }
      if (!reply || this.#stopped) continue;
      for (const [, entries] of reply) this.#handle(entries);
    }
  }

  #handle(entries: Array<[string, string[]]>): void {
    const ids: string[] = [];
    for (const [id, fields] of entries) {
      ids.push(id);
      if (laterId(id, this.#lastId)) this.#lastId = id;
      this.#take(fields);
    }
    if (ids.length > 0) this.#cmd.xdel(this.#key, ...ids).catch(noop);
  }

  // An entry is `j <job id>` and one of `s 1` (a node started the chunk), `r <result as JSON>` or
  // `f <failedReason>`; anything else (written by someone else) is skipped.
  #take(fields: string[]): void {
    let jobId: string | undefined;
    let text: string | undefined;
    let failedReason: string | undefined;
    let started = false;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'j') jobId = fields[i + 1];
      else if (fields[i] === 'r') text = fields[i + 1];
      else if (fields[i] === 'f') failedReason = fields[i + 1];
      else if (fields[i] === 's') started = true;
    }
    if (jobId === undefined) return;
    if (started) {
      this.#onStart(jobId);
      return;
    }
    if (failedReason !== undefined) {
      this.#onResult(jobId, { failedReason });
      return;
    }
    if (text === undefined) return;
    let returnvalue: unknown;
    try {
      returnvalue = JSON.parse(text);
    } catch {
      return;
    }
    this.#onResult(jobId, { returnvalue });
  }

  /**
   * Reads what the stream holds now on the command connection, beside the blocked read: whatever both
   * deliver is handed on twice, and the executor settles a chunk once.
   */
  async catchUp(): Promise<void> {
    for (;;) {
      const entries = (await this.#cmd.xrange(
        this.#key,
        `(${this.#lastId}`,
        '+',
        'COUNT',
        READ_COUNT,
      )) as Array<[string, string[]]>;
      this.#handle(entries);
      if (entries.length < READ_COUNT || this.#stopped) return;
    }
  }

  /** Stops reading: the connection is closed, which ends a blocked read at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#reader.disconnect();
    await this.#done;
  }
}
