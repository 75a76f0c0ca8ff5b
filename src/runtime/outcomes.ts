// What becomes of chunks when a worker reports (settleBatch) and when a worker is gone (settleLost): each
// outcome goes to the ledger, which settles the chunk; a lost chunk runs elsewhere, again, or fails.
import { type WorkerEnd, type WorkerExit, WorkerLostError } from '../errors.js';
import type { OutcomeBatch } from '../protocol.js';
import { decodeOutcomes } from '../wire/codec.js';
import { deserializeError, type WireError } from '../wire/errors.js';
import { isSharedView, sharedResults } from '../wire/shared.js';
import { hasTransfers } from '../wire/transfer.js';
import type { ChunkRecord, Ledger } from './ledger.js';
import type { ItemSample } from './schedule.js';
import type { Slot } from './slot.js';

const NO_VALUES: readonly unknown[] = [];

/**
 * Settles every outcome of a batch. Returns the chunks' function: when they were of several, the one with the
 * most chunks (undefined when none was still known); and what they say of its cost per item. That leaves out
 * a chunk the function was loaded and compiled for (Slot.loadedFor), a chunk that failed (it may have stopped
 * at its first item), and chunks cancelled meanwhile, whose items are no longer known here. A report of
 * several functions tells the cost of the first one's chunks, and only when that is also the one returned.
 */
export function settleBatch(
  slot: Slot,
  batch: OutcomeBatch,
  ledger: Ledger,
): { fnId: number | undefined; sample: ItemSample } {
  let items = 0;
  let fnId: number | undefined;
  /** The first function's chunks, but for the one that loaded it. */
  let warmItems = 0;
  let warmUs = 0;
  let chunks = 0;
  let failed = 0;
  let busyUs = 0;
  /** Chunks per function, once they differ. */
  let mixed: Map<number, number> | undefined;
  const now = Date.now();
  decodeOutcomes(
    batch,
    (id, ok, valuesOrError, index) => {
      const record = slot.reported(id);
      if (!record) return; // cancelled meanwhile
      const job = record;
      items += job.items.length;
      fnId ??= job.fnId;
      if (job.fnId !== fnId) mixed ??= new Map([[fnId, chunks]]);
      if (mixed) mixed.set(job.fnId, (mixed.get(job.fnId) ?? 0) + 1);
      chunks++;
      if (!ok) failed++;
      const runUs = batch.runsUs[index]!;
      busyUs += runUs;
      if (!slot.loadedFor(job.fnId, id) && job.fnId === fnId && ok) {
        warmItems += job.items.length;
        warmUs += runUs;
      }
      ledger.reported(
        record,
        ok
          ? { ok: true, values: valuesOrError as ArrayLike<unknown> }
          : { ok: false, error: deserializeError(valuesOrError as WireError) },
        batch.at,
        batch.startsUs[index]!,
        runUs,
        now,
      );
    },
    (id) => {
      const sent = slot.held(id)?.items;
      return sent && isSharedView(sent) ? sharedResults(sent) : NO_VALUES;
    },
  );
  const busyMs = busyUs / 1000;
  ledger.workerDid(slot.id, { chunks, items, failed, busyMs, copyMs: batch.copyMs, heap: batch.heap });
  const first = fnId;
  if (mixed) for (const [id, count] of mixed) if (count > mixed.get(fnId!)!) fnId = id;
  const sample = fnId === first ? { items: warmItems, ms: warmUs / 1000 } : { items: 0, ms: 0 };
  return { fnId, sample };
}

/**
 * Decides the fate of the chunks a gone worker held that it may have started (`lost`; the ones its claim
 * cells say it never started have run elsewhere already): the one it was running fails with WorkerLostError
 * (or runs again, with retries), the others run elsewhere. Returns what ended the worker, as its chunks are
 * told: what the pool stopped it for, else what the worker said or did.
 */
export function settleLost(
  slot: Slot,
  exit: WorkerExit,
  lost: readonly ChunkRecord[],
  ledger: Ledger,
  requeue: (record: ChunkRecord) => void,
): { kind: WorkerEnd; reason: string } {
  const { stopped } = slot;
  // A chunk's buffers moved with transfer() went to the lost thread: sent again, they would arrive detached
  // (a typed array then cannot even be read there), so such a chunk fails instead of running again.
  const runElsewhere = (record: ChunkRecord, cause?: unknown): void => {
    if (!slot.handle.sharesMemory || !hasTransfers(record.items)) {
      requeue(record);
      return;
    }
    const reason = `${exit.reason}; the buffers its arguments moved with transfer() were lost with it`;
    const error = new WorkerLostError({ ...exit, reason }, { cause });
    ledger.settled(record, { ok: false, error }, true);
  };
  const lose = (record: ChunkRecord, end: WorkerExit, cause?: unknown): void => {
    if (record.retries > 0) {
      record.retries--;
      runElsewhere(record, cause);
      return;
    }
    ledger.settled(record, { ok: false, error: new WorkerLostError(end, { cause }) }, true);
  };
  let end: { kind: WorkerEnd; reason: string } = stopped ?? exit;
  const words = slot.lastWords;
  if (words) {
    const { running, reason } = words;
    end = reason
      ? { kind: 'crash', reason: `the task threw outside its call: ${describe(reason)}` }
      : exit.kind === 'channel-closed'
        ? exit
        : { kind: exit.kind, reason: 'the task ended the worker' };
    for (const record of lost) {
      if (record.id === running) lose(record, { ...exit, ...end }, reason ?? undefined);
      else runElsewhere(record); // it had not started, or never reached the worker
    }
  } else if (!slot.ready && !stopped) {
    // The worker died before its initializer finished, so none of its chunks ran: run them elsewhere.
    // (Repeated self-exits end the pool, and replacements back off, so this cannot spin.)
    for (const record of lost) runElsewhere(record);
  } else {
    for (const record of lost) lose(record, { ...exit, ...end });
  }
  return end;
}

function describe(reason: unknown): string {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
}
