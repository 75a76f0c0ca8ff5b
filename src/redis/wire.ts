// What travels through Redis: a chunk's job data, its result and its error. Data only: values are encoded
// with V8's structured-clone serializer (as between threads), never evaluated; inline code is signed.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import {
  AbortError,
  SerializationError,
  TaskRefusedError,
  TaskTimeoutError,
  WorkerLostError,
} from '../errors.js';
import { deserializeError, serializeError, type WireError } from '../wire/errors.js';

/** How the node finds the function: an export of its task modules, or signed source. */
export type JobFn =
  /** `version`: the SHA-256 of the submitter's task module; a node whose module differs refuses the job. */
  | { kind: 'name'; name: string; version?: string }
  | { kind: 'inline'; name: string; source: string; sig: string };

/** A chunk as a BullMQ job's data. */
export interface JobData {
  v: 1;
  fn: JobFn;
  star: boolean;
  base: number;
  timeout: number | null;
  retries: number;
  /** `settle: true`: the node returns each item's outcome (a SettledRecord) instead of failing at the first error. */
  settle?: true;
  /**
   * The items: V8-serialized and base64 (a string), or, when every one is a number JSON carries exactly, the
   * numbers themselves, which BullMQ's own JSON takes as they are (see plainNumbers).
   */
  items: string | number[];
}

/**
 * A chunk's result as a BullMQ job's return value: V8-serialized and base64, or plain numbers as for items; or
 * only SENT, once the result went to its submitter's own stream.
 */
export type JobResult = { v: 1; values: string } | { v: 1; numbers: number[] } | { v: 1; sent: true };

/** The job name every chunk is added under. */
export const JOB_NAME = 'chunk';
/** @default for `maxPayloadBytes`. */
export const DEFAULT_MAX_PAYLOAD = 8 * 1024 * 1024;
/** Marks the encoded error at the end of a failed job's `failedReason`; the first line stays readable. */
const WIRE_MARK = '\nmpool-wire:';

/** Pub/sub channel on which submitters ask nodes to stop running chunks (messages: JSON arrays of job ids). */
export function cancelChannel(prefix: string, queue: string): string {
  return `${prefix}:${queue}:mpool-cancel`;
}

/**
 * A submitter's heartbeat: set while it lives, with its `redisTimeout` as time to live. A node that finds it
 * gone drops the submitter's chunks, queued or running, and its finished results.
 */
export function aliveKey(prefix: string, queue: string, submitter: string): string {
  return `${prefix}:${queue}:mpool-alive:${submitter}`;
}

/**
 * A submitter's own stream: nodes add each chunk's start, result or failure here (see results.ts), and only
 * that submitter reads it, deleting what it read; so no submitter reads another's results, or depends on how much
 * BullMQ's shared event stream keeps. Nodes delete it when its submitter is gone; and the submitter's heartbeat
 * gives it its redisTimeout to live, as its heartbeat key has.
 */
export function resultsKey(prefix: string, queue: string, submitter: string): string {
  return `${prefix}:${queue}:mpool-results:${submitter}`;
}

/** A chunk's return value in BullMQ once its result went to its submitter's own stream (see resultsKey). */
export const SENT: JobResult = { v: 1, sent: true };

/** The submitter of a chunk, from its job id (`<submitter>-<chunk>`); undefined for an id of another shape. */
export function submitterOf(jobId: string | undefined): string | undefined {
  return jobId === undefined ? undefined : /^([0-9a-f]{16})-\d+$/.exec(jobId)?.[1];
}

/**
 * The values as an array of numbers when each is one that JSON gives back exactly (finite, not -0), else null:
 * such a chunk crosses Redis as BullMQ's JSON, with no V8 serialization or base64 on either side.
 */
export function plainNumbers(values: ArrayLike<unknown>): number[] | null {
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (typeof value !== 'number' || !Number.isFinite(value) || (value === 0 && 1 / value < 0)) return null;
  }
  return Array.isArray(values) ? (values as number[]) : Array.from(values as ArrayLike<number>);
}

/** What a chunk's items or values weigh against the cap: encoded length, or 8 bytes per plain number. */
function weight(encoded: string | number[]): number {
  return typeof encoded === 'string' ? encoded.length : encoded.length * 8;
}

export function encodeValue(value: unknown): string {
  return serialize(value).toString('base64');
}

export function decodeValue(text: string): unknown {
  return deserialize(Buffer.from(text, 'base64'));
}

function tooBig(what: string, size: number, cap: number): TaskRefusedError {
  return new TaskRefusedError(
    `The ${what} is ${size} bytes, over the ${cap}-byte cap (\`maxPayloadBytes\` / --max-payload). ` +
      'Use a smaller chunksize, or raise the cap on both the submitter and the nodes.',
  );
}

/** Size of a job's payload as the cap counts it: encoded items plus inline source. */
export function payloadSize(data: JobData): number {
  return weight(data.items) + (data.fn.kind === 'inline' ? data.fn.source.length : 0);
}

export function checkPayload(data: JobData, cap: number): void {
  const size = payloadSize(data);
  if (size > cap) throw tooBig('payload of this task', size, cap);
}

// ---- Signing inline functions -------------------------------------------------------------------------------

function mac(secret: string, data: Omit<JobData, 'fn'> & { fn: { name: string; source: string } }): Buffer {
  const head = JSON.stringify([
    data.v,
    data.fn.name,
    data.fn.source,
    data.star,
    data.base,
    data.timeout,
    data.retries,
    // Only when set, so that the signature of every other chunk stays what it was.
    ...(data.settle ? [true] : []),
  ]);
  const items = typeof data.items === 'string' ? data.items : JSON.stringify(data.items);
  return createHmac('sha256', secret).update(head).update('\n').update(items).digest();
}

/** HMAC-SHA256 over the function's source and the whole chunk, so a signature cannot carry other code. */
export function sign(
  secret: string,
  data: Omit<JobData, 'fn'> & { fn: { name: string; source: string } },
): string {
  return mac(secret, data).toString('base64');
}

export function verify(secret: string, data: JobData & { fn: { kind: 'inline' } }): boolean {
  const expected = mac(secret, data);
  const given = Buffer.from(data.fn.sig, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

// ---- Validation of what comes out of Redis (anyone who can write to it can write anything) --------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Checks a job's data field by field, and the size cap before anything is decoded. */
export function parseJobData(raw: unknown, cap: number): JobData {
  const bad = (why: string) =>
    new TaskRefusedError(`The job is not an mpool chunk (${why}); it was refused.`);
  if (!isObject(raw) || raw.v !== 1) throw bad('unknown format');
  const { fn, star, base, timeout, retries, items, settle } = raw;
  if (settle !== undefined && settle !== true) throw bad('settle');
  if (typeof items !== 'string' && !(Array.isArray(items) && plainNumbers(items) !== null))
    throw bad('items');
  if (typeof star !== 'boolean' || !Number.isInteger(base) || (base as number) < 0) throw bad('star/base');
  if (timeout !== null && (typeof timeout !== 'number' || !(timeout > 0))) throw bad('timeout');
  if (!Number.isInteger(retries) || (retries as number) < 0) throw bad('retries');
  if (!isObject(fn) || typeof fn.name !== 'string') throw bad('fn');
  let jobFn: JobFn;
  if (fn.kind === 'name') {
    if (fn.version !== undefined && (typeof fn.version !== 'string' || !/^[0-9a-f]{64}$/.test(fn.version)))
      throw bad('fn.version');
    jobFn = { kind: 'name', name: fn.name, ...(fn.version === undefined ? {} : { version: fn.version }) };
  } else if (fn.kind === 'inline' && typeof fn.source === 'string' && typeof fn.sig === 'string')
    jobFn = { kind: 'inline', name: fn.name, source: fn.source, sig: fn.sig };
  else throw bad('fn');
  const data: JobData = {
    v: 1,
    fn: jobFn,
    star,
    base: base as number,
    timeout: timeout as number | null,
    retries: retries as number,
    ...(settle ? { settle: true as const } : {}),
    items: items as string | number[],
  };
  checkPayload(data, cap);
  return data;
}

/** Encodes a chunk's values as a job's return value, within the cap. */
export function encodeResult(values: ArrayLike<unknown>, cap: number): JobResult {
  const numbers = plainNumbers(values);
  const encoded = numbers ?? encodeValue(values);
  if (weight(encoded) > cap) throw tooBig('result of this task', weight(encoded), cap);
  return numbers ? { v: 1, numbers } : { v: 1, values: encoded as string };
}

/** A chunk's items as the node runs them. */
export function decodeItems(items: string | number[]): unknown[] {
  if (typeof items !== 'string') return items;
  const decoded = decodeValue(items);
  if (!Array.isArray(decoded) && !ArrayBuffer.isView(decoded))
    throw new TaskRefusedError('The items are not a list.');
  return Array.from(decoded as ArrayLike<unknown>);
}

export function decodeResult(raw: unknown, cap: number): ArrayLike<unknown> {
  if (isObject(raw) && raw.v === 1 && Array.isArray(raw.numbers)) {
    const size = weight(raw.numbers);
    if (size > cap) throw tooBig('result of this task', size, cap);
    if (plainNumbers(raw.numbers) === null) {
      throw new TypeError('The job completed with a return value that is not a list of numbers.');
    }
    return raw.numbers;
  }
  if (!isObject(raw) || raw.v !== 1 || typeof raw.values !== 'string') {
    throw new TypeError('The job completed with a return value that is not an mpool result.');
  }
  if (raw.values.length > cap) throw tooBig('result of this task', raw.values.length, cap);
  const values = decodeValue(raw.values);
  if (!Array.isArray(values) && !ArrayBuffer.isView(values)) {
    throw new TypeError('The job completed with a return value that is not a list of values.');
  }
  return values as ArrayLike<unknown>;
}

// ---- Errors ----------------------------------------------------------------------------------------------------

/** A failed job's `failedReason`: a readable first line, then the full error encoded. */
export function encodeFailure(err: unknown): string {
  const wire = serializeError(err);
  const head =
    wire.kind === 'error' ? `${wire.name}: ${wire.message}` : `Thrown value: ${String(wire.value)}`;
  let encoded: string;
  try {
    encoded = encodeValue(wire);
  } catch {
    encoded = encodeValue(serializeError(new Error(head)));
  }
  return `${head.split('\n', 1)[0]}${WIRE_MARK}${encoded}`;
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Keeps only well-formed wire errors, without keys that could change an object's prototype. */
function cleanWire(raw: unknown, depth = 0): WireError | null {
  if (!isObject(raw) || depth > 8) return null;
  if (raw.kind === 'value') return { kind: 'value', value: raw.value };
  const { ctor, name, message, stack, props } = raw;
  if (
    raw.kind !== 'error' ||
    typeof ctor !== 'string' ||
    typeof name !== 'string' ||
    typeof message !== 'string'
  )
    return null;
  const safeProps: Record<string, unknown> = {};
  if (isObject(props)) {
    for (const key of Object.keys(props)) if (!UNSAFE_KEYS.has(key)) safeProps[key] = props[key];
  }
  const wire: WireError = {
    kind: 'error',
    ctor,
    name,
    message,
    stack: typeof stack === 'string' ? stack : undefined,
    props: safeProps,
  };
  const cause = raw.cause === undefined ? null : cleanWire(raw.cause, depth + 1);
  if (cause) wire.cause = cause;
  if (Array.isArray(raw.errors)) {
    wire.errors = raw.errors.map((e) => cleanWire(e, depth + 1)).filter((e): e is WireError => e !== null);
  }
  return wire;
}

// mpool's own errors come back as their classes, so `instanceof TaskTimeoutError` works as in the local pool.
const OWN_CLASSES: Record<string, { prototype: Error }> = {
  AbortError,
  SerializationError,
  TaskRefusedError,
  TaskTimeoutError,
  WorkerLostError,
};

function revive(wire: WireError): unknown {
  const err = deserializeError(wire);
  if (wire.kind === 'error' && err instanceof Error) {
    const own = OWN_CLASSES[wire.ctor];
    if (own && wire.name === wire.ctor) Object.setPrototypeOf(err, own.prototype);
    if (wire.cause && err.cause !== undefined) {
      Object.defineProperty(err, 'cause', { value: revive(wire.cause), writable: true, configurable: true });
    }
  }
  return err;
}

const STALLED = /stalled more than allowable limit/;

/** Rebuilds the error of a failed job, with its class, fields, cause and the node's stack. */
export function decodeFailure(failedReason: string): unknown {
  const at = failedReason.lastIndexOf(WIRE_MARK);
  if (at >= 0) {
    try {
      const wire = cleanWire(decodeValue(failedReason.slice(at + WIRE_MARK.length)));
      if (wire) return revive(wire);
    } catch {
      // fall through: report the readable part
    }
  }
  if (STALLED.test(failedReason)) {
    return new WorkerLostError({
      exitCode: null,
      signal: null,
      kind: 'stalled',
      reason: `its worker node stopped answering more often than the nodes' --max-stalled allows (${failedReason})`,
    });
  }
  return new Error(`The job failed in BullMQ: ${at >= 0 ? failedReason.slice(0, at) : failedReason}`);
}
