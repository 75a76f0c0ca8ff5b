// piscina's equivalent of examples/hash-server.ts, for the serving benchmark: the same routes, the same work,
// the same sizes (minThreads 1, maxThreads PROCESSES, maxQueue MAX_QUEUE, idleTimeout 10 s) and 503 when full.
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';

const env = process.env;
const processes = Number(env.PROCESSES ?? availableParallelism());
const maxQueue = env.MAX_QUEUE === 'none' ? Number.POSITIVE_INFINITY : Number(env.MAX_QUEUE ?? 4 * processes);
const rounds = Number(env.ROUNDS ?? 20_000);
const pool = new Piscina({
  filename: new URL('./workers/hash.mjs', import.meta.url).href,
  minThreads: Math.min(processes, Number(env.MIN_PROCESSES ?? 1)),
  maxThreads: processes,
  idleTimeout: 10_000,
  maxQueue,
});

async function readBody(request) {
  const parts = [];
  for await (const part of request) parts.push(part);
  return Buffer.concat(parts);
}

const server = createServer(async (request, response) => {
  try {
    if (request.method === 'GET' && request.url === '/stats') {
      const { rss, heapUsed } = process.memoryUsage();
      const maxRss = process.resourceUsage().maxRSS * 1024;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ rss, maxRss, heapUsed }));
      return;
    }
    const body = await readBody(request);
    const digest = await pool.run({ body, rounds });
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end(`${digest}\n`);
  } catch (error) {
    const full = /queue is at limit/i.test(String(error?.message));
    response.writeHead(full ? 503 : 500, {
      'content-type': 'text/plain',
      ...(full ? { 'retry-after': '1' } : {}),
    });
    response.end(full ? 'Busy: try again shortly.\n' : `${error?.message}\n`);
  }
});

server.listen(Number(env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
const stop = () => server.close(() => pool.destroy().then(() => process.exit(0)));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
