// A web service that hashes request bodies on the pool (node:http, no framework). The pool grows with load and
// shrinks when idle, and its queue is bounded: past it, a request gets 503 at once instead of waiting for minutes.
//
//   npx tsx examples/hash-server.ts            # then: curl --data-binary @file http://127.0.0.1:8080/hash
//
// Settings from the environment: PORT (8080; 0 picks a free one), PROCESSES (cpuCount()), MIN_PROCESSES (1),
// MAX_QUEUE (4 per worker; 'none' for an unbounded queue), ROUNDS (SHA-256 rounds per request, 20000),
// MAX_BODY (bytes, 8 MiB).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpuCount, Pool, type PoolOptions, QueueFullError } from 'mpool';
import { runIfMain } from './run-main.js';
import { hashBody } from './tasks.js';

export interface HashServerOptions {
  port?: number;
  pool?: PoolOptions;
  rounds?: number;
  maxBody?: number;
}

export interface HashServer {
  url: string;
  pool: Pool;
  /** Stops taking connections, lets the pool finish what it holds, and closes. */
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

/** Reads a request's body, refusing one over `max` bytes. */
async function readBody(request: IncomingMessage, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of request as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > max) throw new BodyTooLarge(`The body is over ${max} bytes.`);
    parts.push(part);
  }
  return Buffer.concat(parts);
}

function reply(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  response.end(body);
}

export async function startServer(options: HashServerOptions = {}): Promise<HashServer> {
  const processes = options.pool?.processes ?? cpuCount();
  const maxQueue = options.pool?.maxQueue ?? 4 * processes;
  const pool = new Pool({ minProcesses: 1, ...options.pool, processes, maxQueue });
  const rounds = options.rounds ?? 20_000;
  const maxBody = options.maxBody ?? 8 * 1024 * 1024;
  const server: Server = createServer(async (request, response) => {
    try {
      if (request.method === 'GET' && request.url === '/stats') {
        // What the service holds: its memory, and what the pool says of its workers and queue.
        const { rss, heapUsed } = process.memoryUsage();
        const maxRss = process.resourceUsage().maxRSS * 1024;
        const body = JSON.stringify({ rss, maxRss, heapUsed, pool: pool.stats() });
        reply(response, 200, body, { 'content-type': 'application/json' });
        return;
      }
      if (request.method !== 'POST' || request.url !== '/hash') {
        reply(response, 404, 'POST a body to /hash, or GET /stats.\n');
        return;
      }
      // A queue that is full already refuses before the body is read: a refused request costs no memory.
      if (pool.queued >= maxQueue) {
        request.resume();
        throw new QueueFullError(maxQueue, pool.queued);
      }
      const body = await readBody(request, maxBody);
      // Past maxQueue, apply rejects at once with QueueFullError: the answer is 503, not minutes of waiting.
      const digest = await pool.apply(hashBody, [body, rounds]);
      reply(response, 200, `${digest}\n`);
    } catch (error) {
      if (error instanceof QueueFullError)
        reply(response, 503, 'Busy: try again shortly.\n', { 'retry-after': '1' });
      else if (error instanceof BodyTooLarge) reply(response, 413, `${error.message}\n`);
      else reply(response, 500, `${error instanceof Error ? error.message : String(error)}\n`);
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 8080, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pool,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      pool.close();
      await pool.join();
    },
  };
}

/** The settings from the environment (see the top of this file). */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): HashServerOptions {
  const number = (name: string, fallback: number): number => {
    const value = env[name];
    if (value === undefined || value === '') return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0)
      throw new TypeError(`Expected ${name} to be an integer >= 0, got \`${value}\``);
    return parsed;
  };
  const processes = number('PROCESSES', cpuCount());
  const maxQueue = env.MAX_QUEUE === 'none' ? Number.POSITIVE_INFINITY : number('MAX_QUEUE', 4 * processes);
  return {
    port: number('PORT', 8080),
    rounds: number('ROUNDS', 20_000),
    maxBody: number('MAX_BODY', 8 * 1024 * 1024),
    pool: { processes, minProcesses: Math.min(processes, number('MIN_PROCESSES', 1)), maxQueue },
  };
}

export async function main(): Promise<void> {
  const server = await startServer(settingsFromEnv());
  console.log(`listening on ${server.url}`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await runIfMain(import.meta.url, main);
