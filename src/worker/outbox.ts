// The worker's outgoing results: outcomes wait here, with when each chunk started and how long it ran, until
// the loop flushes them as one message. A result that cannot be cloned fails alone, named by its item.

import { performance } from 'node:perf_hooks';
import type { TransferListItem } from 'node:worker_threads';
import { SerializationError } from '../errors.js';
import type { ChunkOut, FromWorker, Outcome, OutcomeBatch } from '../protocol.js';
import { encodeOutcomes, transferList } from '../wire/codec.js';
import { serializeError, type WireError } from '../wire/errors.js';
import type { LoopPort } from './port.js';
import { unsendable } from './settle.js';

// How often the worker measures its heap for the pool's stats: a walk of V8's heap spaces, so once a second
// at most, and not in its first second (a burst of tiny tasks at start-up does not pay for it).
const HEAP_EVERY_MS = 1000;
// Read once: each read of the getter is a call into Node.
const TIME_ORIGIN = performance.timeOrigin;

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Outbox {
  readonly #port: LoopPort;
  #outcomes: Outcome[] = [];
  /** When each buffered chunk started (performance.now()), and how long it ran (whole µs). */
  #starts: number[] = [];
  #runsUs: number[] = [];
  /** When the oldest buffered outcome was added (performance.now()). */
  since = 0;
  /** Whether a flush waits for the worker's output to leave (see LoopPort.output). */
  #awaitingOutput = false;
  /** Whether results were posted since the last chunk started (see LoopPort.sent). */
  posted = false;
  /** Time spent building and posting messages since the last one went: told in the next one. */
  #copyMs = 0;
  #heapAt = performance.now();
  readonly #bases = new Map<number, number>();
  /** Chunks of `settle: true` calls among those buffered: an unsendable result is its item's. */
  readonly #settled = new Set<number>();

  constructor(port: LoopPort) {
    this.#port = port;
  }

  get size(): number {
    return this.#outcomes.length;
  }

  /** A chunk's outcome, with when it started and ended (performance.now()). */
  push(outcome: Outcome, started: number, ended: number): void {
    if (this.#outcomes.length === 0) this.since = ended;
    this.#outcomes.push(outcome);
    this.#starts.push(started);
    this.#runsUs.push(Math.round((ended - started) * 1000));
  }

  /** A chunk produced values: where its items start, so an unsendable result can be named. */
  produced(chunk: ChunkOut, settle: boolean): void {
    this.#bases.set(chunk.id, chunk.base);
    if (settle) this.#settled.add(chunk.id);
  }

  /** Sends what is buffered, once the worker's output has left (see LoopPort.output). */
  flush(): void {
    if (this.#outcomes.length === 0 || this.#awaitingOutput) return;
    const output = this.#port.output?.();
    if (output) {
      // The results stay in the buffer meanwhile: should the worker die, lastWords() still sends them.
      this.#awaitingOutput = true;
      void output.then(() => {
        this.#awaitingOutput = false;
        this.flush();
      });
      return;
    }
    const outcomes = this.#outcomes;
    const starts = this.#starts;
    const runs = this.#runsUs;
    this.#take();
    try {
      this.#send(outcomes, starts, runs);
    } catch {
      // One result could not be cloned: send them one by one so the others still arrive.
      for (let i = 0; i < outcomes.length; i++) {
        const outcome = outcomes[i]!;
        const one = [starts[i]!];
        const ran = [runs[i]!];
        try {
          this.#send([outcome], one, ran);
        } catch (err) {
          this.#send([this.#uncloneable(outcome, err)], one, ran);
        }
      }
    }
    this.#bases.clear();
    this.#settled.clear();
  }

  /** The message a dying worker sends: what is buffered, and which chunk it was running. */
  lastWords(
    running: number | null,
    reason: WireError | null,
    code: number | null,
  ): { message: FromWorker; transfer: TransferListItem[] } {
    const moved: TransferListItem[] = [];
    const batch = this.#encode(this.#outcomes, this.#starts, this.#runsUs, moved, performance.now());
    this.#take();
    return {
      message: { type: 'dying', running, batch, reason, code },
      transfer: transferList(batch.numbers, moved),
    };
  }

  #take(): void {
    this.#outcomes = [];
    this.#starts = [];
    this.#runsUs = [];
  }

  /** `now`: performance.now(), read by the caller; `starts` are on its clock, `runsUs` whole µs. */
  #encode(
    outcomes: Outcome[],
    starts: number[],
    runsUs: number[],
    moved: TransferListItem[],
    now: number,
  ): OutcomeBatch {
    let heap = 0;
    if (now - this.#heapAt >= HEAP_EVERY_MS) {
      this.#heapAt = now;
      heap = process.memoryUsage().heapUsed;
    }
    const copyMs = this.#copyMs;
    this.#copyMs = 0;
    const startsUs = new Array<number>(starts.length);
    for (let i = 0; i < starts.length; i++) startsUs[i] = Math.round((now - starts[i]!) * 1000);
    return encodeOutcomes(outcomes, moved, { at: TIME_ORIGIN + now, startsUs, runsUs, copyMs, heap });
  }

  #send(outcomes: Outcome[], starts: number[], runs: number[]): void {
    const began = performance.now();
    const moved: TransferListItem[] = [];
    const batch = this.#encode(outcomes, starts, runs, moved, began);
    this.#port.post({ type: 'results', batch }, transferList(batch.numbers, moved));
    this.posted = this.#port.sent !== undefined;
    this.#copyMs += performance.now() - began;
  }

  // Names the exact item whose result cannot be cloned; only runs on that failure path.
  #uncloneable(outcome: Outcome, err: unknown): Outcome {
    let index = 0;
    let reason = reasonOf(err);
    if (outcome.ok && this.#settled.has(outcome.id)) {
      // settle: true: only the items whose results cannot go fail, each as its own outcome.
      const base = this.#bases.get(outcome.id) ?? 0;
      const values = Array.from(outcome.values, (value, i) => {
        try {
          structuredClone(value);
          return value;
        } catch (itemErr) {
          return unsendable(base + i, reasonOf(itemErr));
        }
      });
      return { id: outcome.id, ok: true, values };
    }
    if (outcome.ok) {
      for (let i = 0; i < outcome.values.length; i++) {
        try {
          structuredClone(outcome.values[i]);
        } catch (itemErr) {
          index = i;
          reason = reasonOf(itemErr);
          break;
        }
      }
    }
    const error = new SerializationError((this.#bases.get(outcome.id) ?? 0) + index, 'result', reason);
    return { id: outcome.id, ok: false, error: serializeError(error) };
  }
}
