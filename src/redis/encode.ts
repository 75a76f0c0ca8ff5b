// A chunk as a BullMQ job (the submitter side): items encoded, the function named or signed, the size capped.
import { SerializationError, TaskRefusedError } from '../errors.js';
import type { ChunkJob } from '../executor.js';
import type { ResolvedRedisOptions } from '../options.js';
import { findUncloneable } from '../runtime/clone.js';
import { packItems } from '../wire/codec.js';
import { exportName } from './tasks.js';
import { checkPayload, encodeValue, type JobData, type JobFn, plainNumbers, sign } from './wire.js';

/** Builds a chunk's job data; throws what the chunk should fail with (unclonable item, no secret, too big). */
export async function encodeJob(job: ChunkJob, options: ResolvedRedisOptions): Promise<JobData> {
  let items: string | number[];
  try {
    items = job.star
      ? encodeValue(job.items)
      : (plainNumbers(job.items) ?? encodeValue(packItems(job.items)));
  } catch (err) {
    throw findUncloneable(job.items, job.base) ?? new SerializationError(job.base, 'argument', String(err));
  }
  const rest = {
    v: 1 as const,
    star: job.star,
    base: job.base,
    timeout: job.timeout,
    retries: job.retries,
    ...(job.fn.settle ? { settle: true as const } : {}),
    items,
  };
  let fn: JobFn;
  if (job.fn.kind === 'module') {
    const { name, version } = await exportName(job.fn);
    fn = version === undefined ? { kind: 'name', name } : { kind: 'name', name, version };
  } else {
    const { secret } = options;
    if (secret === null) {
      throw new TaskRefusedError(
        `The inline function \`${job.fn.name || 'anonymous'}\` cannot run on worker nodes without a shared secret. ` +
          'Declare it with task(import.meta.url, fn) in a module the nodes load with --tasks (recommended), or set the ' +
          '`secret` option (or MPOOL_SECRET) and start the nodes with --allow-inline and the same secret.',
      );
    }
    const unsigned = { ...rest, fn: { name: job.fn.name, source: job.fn.source } };
    fn = { kind: 'inline', name: job.fn.name, source: job.fn.source, sig: sign(secret, unsigned) };
  }
  const data: JobData = { ...rest, fn };
  checkPayload(data, options.maxPayloadBytes);
  return data;
}
