// A load generator for an HTTP service on loopback, bounded in count and time: a closed loop (a fixed number of
// clients, each sending its next request when its last is answered) or an open loop (requests at a fixed
// rate, whether or not earlier ones were answered, as a traffic spike arrives).
import { Agent, request } from 'node:http';

export interface LoadResult {
  sent: number;
  /** Answered 200. */
  ok: number;
  /** Answered 503: the service said it was busy. */
  busy: number;
  /** Other answers, errors, and requests still unanswered when time ran out. */
  failed: number;
  /** From the first request to the last answer. */
  ms: number;
  /** Answers 200 per second. */
  perSecond: number;
  /** Latency of the 200 answers, in ms. */
  p50: number;
  p99: number;
  max: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 512 });

/** POSTs `body` to `url`; resolves with the status and the latency in ms (status 0: the request failed). */
export function post(url: string, body: Buffer, timeoutMs: number): Promise<{ status: number; ms: number }> {
  const start = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - start }));
      res.on('error', () => resolve({ status: 0, ms: performance.now() - start }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve({ status: 0, ms: performance.now() - start }));
    req.end(body);
  });
}

/** GETs JSON from `url`. */
export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  return (await response.json()) as T;
}

function summarize(answers: Array<{ status: number; ms: number }>, sent: number, ms: number): LoadResult {
  const latencies = answers
    .filter((a) => a.status === 200)
    .map((a) => a.ms)
    .sort((a, b) => a - b);
  const at = (q: number): number =>
    latencies.length === 0
      ? Number.NaN
      : latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]!;
  const ok = latencies.length;
  const busy = answers.filter((a) => a.status === 503).length;
  return {
    sent,
    ok,
    busy,
    failed: sent - ok - busy,
    ms,
    perSecond: ok / (ms / 1000),
    p50: at(0.5),
    p99: at(0.99),
    max: latencies.at(-1) ?? Number.NaN,
  };
}

/** `clients` clients send `requests` requests in all, each after its last is answered; at most `maxMs`. */
export async function closedLoop(
  url: string,
  body: Buffer,
  { clients, requests, maxMs }: { clients: number; requests: number; maxMs: number },
): Promise<LoadResult> {
  const answers: Array<{ status: number; ms: number }> = [];
  const start = performance.now();
  const deadline = start + maxMs;
  let sent = 0;
  const client = async (): Promise<void> => {
    while (sent < requests && performance.now() < deadline) {
      sent++;
      answers.push(await post(url, body, Math.max(1, deadline - performance.now())));
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return summarize(answers, sent, performance.now() - start);
}

/**
 * Sends `rate` requests a second for `durationMs`, whether or not earlier ones were answered, then waits for
 * the answers, but no longer than `maxMs` from the start.
 */
export async function openLoop(
  url: string,
  body: Buffer,
  { rate, durationMs, maxMs }: { rate: number; durationMs: number; maxMs: number },
): Promise<LoadResult> {
  const pending: Array<Promise<{ status: number; ms: number }>> = [];
  const start = performance.now();
  const total = Math.round((rate * durationMs) / 1000);
  for (let i = 0; i < total; i++) {
    // Each request at its own moment on the schedule, however late the timer: a spike does not slow down.
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(post(url, body, Math.max(1, start + maxMs - performance.now())));
  }
  const answers = await Promise.all(pending);
  return summarize(answers, total, performance.now() - start);
}

/** Closes the generator's kept-alive sockets, so the process can exit. */
export function closeLoad(): void {
  agent.destroy();
}

/** A service started as a child process: its URL, and a way to stop it. */
export interface ServiceProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `node [args]` with `env` and waits for it to print `listening on <url>`. The service runs in its own
 * process, so its memory is its own to measure.
 */
export async function startService(args: string[], env: Record<string, string>): Promise<ServiceProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (data: Buffer): void => {
      out += data.toString();
      const found = /listening on (http:\/\/\S+)/.exec(out);
      if (found) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve(found[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`the service exited (code ${code}) before it listened: ${out}`)),
    );
  });
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
