#!/usr/bin/env node
// The `mpool` command. `mpool worker` starts a worker node that runs a Redis pool's chunks on this machine.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { received } from './errors.js';
import { cpuCount, resolveSecret } from './options.js';
import { NODE_INLINE_UNDER_MS } from './pace.js';
import { type RedisConnectionOptions, resolveConnection } from './redis/connection.js';
import type { NodeOptions } from './redis/node.js';

const USAGE = `Usage: mpool worker [options]

Starts a worker node: it takes chunks from a BullMQ queue on Redis and runs them on a local pool.

  --redis URL            redis://[user[:password]@]host[:port][/db], or rediss:// for TLS
                         (default: $MPOOL_REDIS_URL, else redis://127.0.0.1:6379)
  --queue NAME           queue to take chunks from (default: mpool)
  --tasks FILE           task module; its exported functions are the tasks this node runs,
                         by name (repeatable)
  --processes N          local workers, and chunks run at once (default: CPU count)
  --context KIND         thread or process (default: thread)
  --allow-inline         also run inline functions, when signed with the shared secret
  --secret-file FILE     file holding the shared secret (default: $MPOOL_SECRET)
  --tls-ca FILE          CA certificate for rediss:// (or set NODE_EXTRA_CA_CERTS)
  --prefix PREFIX        BullMQ key prefix (default: bull)
  --cluster              --redis names a node of a Redis Cluster (the prefix becomes a hash tag, {bull})
  --max-payload BYTES    largest chunk or result accepted (default: 8388608)
  --lock-duration MS     BullMQ lock duration (default: 30000)
  --stalled-interval MS  how often stalled chunks of lost nodes are recovered (default: 30000)
  --max-stalled N        times a chunk may be recovered from a lost node (default: 1)
  --grace SECONDS        on SIGTERM, time running chunks get before they are released (default: 30)
  --inline-under MS      chunks measured to take less than this run on the node's own thread,
                         saving the round trip to a worker (default: 0.5; 0: never)
  --name NAME            name shown in logs and in BullMQ (default: host:pid)
  --quiet                no line per chunk
  -h, --help             this help

Environment: MPOOL_REDIS_PASSWORD sets the Redis password (kept off the command line),
MPOOL_SECRET the shared secret for --allow-inline.
SIGTERM or SIGINT stop the node gracefully; a second one releases running chunks at once. The node
also stops gracefully when its parent process goes away (npx does not pass SIGTERM on).
`;

/** How often the node checks that its parent is still there. */
const PARENT_CHECK_MS = 500;

function integer(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`Expected \`--${name}\` to be an integer >= ${min}, got ${received(text)}`);
  }
  return value;
}

function milliseconds(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(value)) {
    throw new RangeError(`Expected \`--${name}\` to be a number of milliseconds >= 0, got ${received(text)}`);
  }
  return value;
}

function workerOptions(args: string[], log: (line: string) => void): NodeOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      redis: { type: 'string' },
      queue: { type: 'string', default: 'mpool' },
      tasks: { type: 'string', multiple: true, default: [] },
      processes: { type: 'string' },
      context: { type: 'string', default: 'thread' },
      'allow-inline': { type: 'boolean', default: false },
      'secret-file': { type: 'string' },
      'tls-ca': { type: 'string' },
      prefix: { type: 'string' },
      cluster: { type: 'boolean' },
      'max-payload': { type: 'string' },
      'lock-duration': { type: 'string' },
      'stalled-interval': { type: 'string' },
      'max-stalled': { type: 'string' },
      grace: { type: 'string' },
      'inline-under': { type: 'string' },
      name: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const redis: RedisConnectionOptions = {
    url: values.redis ?? process.env.MPOOL_REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
  if (process.env.MPOOL_REDIS_PASSWORD) redis.password = process.env.MPOOL_REDIS_PASSWORD;
  if (values['tls-ca']) redis.tls = { ca: readFileSync(values['tls-ca'], 'utf8') };
  if (values.prefix !== undefined) redis.prefix = values.prefix;
  if (values.cluster) redis.cluster = true;
  const connection = resolveConnection(redis);
  const { context, queue } = values;
  if (context !== 'thread' && context !== 'process') {
    throw new TypeError(`Expected \`--context\` to be thread or process, got ${received(context)}`);
  }
  if (queue === '' || queue.includes(':')) {
    throw new TypeError(`Expected \`--queue\` to be a non-empty name without \`:\`, got ${received(queue)}`);
  }
  const secretText = values['secret-file']
    ? readFileSync(values['secret-file'], 'utf8').trim()
    : process.env.MPOOL_SECRET || undefined;
  const allowInline = values['allow-inline'];
  if (allowInline && secretText === undefined) {
    throw new TypeError('`--allow-inline` needs the shared secret: set MPOOL_SECRET or pass --secret-file.');
  }
  if (!allowInline && values.tasks.length === 0) {
    throw new TypeError(
      'Expected at least one `--tasks FILE` (or --allow-inline): a node runs only the tasks it is given.',
    );
  }
  return {
    connection,
    queue,
    tasks: values.tasks,
    processes: integer('processes', values.processes, cpuCount(), 1),
    context,
    allowInline,
    secret: allowInline && secretText !== undefined ? resolveSecret(secretText, 'the shared secret') : null,
    maxPayloadBytes: integer('max-payload', values['max-payload'], 8 * 1024 * 1024, 1024),
    lockDuration: integer('lock-duration', values['lock-duration'], 30_000, 100),
    stalledInterval: integer('stalled-interval', values['stalled-interval'], 30_000, 100),
    maxStalled: integer('max-stalled', values['max-stalled'], 1, 0),
    grace: integer('grace', values.grace, 30, 0) * 1000,
    inlineUnderMs: milliseconds('inline-under', values['inline-under'], NODE_INLINE_UNDER_MS),
    name: values.name ?? '',
    quiet: values.quiet,
    log,
  };
}

async function worker(args: string[]): Promise<number> {
  const log = (line: string): void => {
    process.stdout.write(`${new Date().toISOString()} mpool worker: ${line}\n`);
  };
  const options = workerOptions(args, log);
  const { defaultNodeName, startNode } = await import('./redis/node.js');
  options.name ||= defaultNodeName();
  const node = await startNode(options);
  let signals = 0;
  const onSignal = (signal: string): void => {
    if (++signals === 1) log(`${signal} stopping`);
    void node.stop();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  // npm runs a bin under `sh -c`, which does not pass SIGTERM on: when whoever started the node goes away
  // (it is given a new parent), stop as on SIGTERM rather than take jobs for nobody.
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    onSignal(`the parent process (pid ${parent}) is gone:`);
  }, PARENT_CHECK_MS);
  watch.unref();
  await node.stopped;
  clearInterval(watch);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === 'worker') {
    if (rest.includes('-h') || rest.includes('--help')) {
      process.stdout.write(USAGE);
      return 0;
    }
    return worker(rest);
  }
  process.stderr.write(`mpool: expected a command (worker), got ${received(command)}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`mpool: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
