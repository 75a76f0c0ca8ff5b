// Where Redis is: parses a redis:// or rediss:// URL (or an options object) into ioredis options, and a safe label.
// Shared by the submitter and the worker node; it imports neither bullmq nor ioredis.
import type { ConnectionOptions as TlsOptions } from 'node:tls';

/** How to reach Redis, when a URL is not enough (a CA file for TLS, for instance). */
export interface RedisConnectionOptions {
  /** `redis://[user[:password]@]host[:port][/db]`, or `rediss://` for TLS. Fields below override its parts. */
  url?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 6379 */
  port?: number;
  username?: string;
  password?: string;
  /** @default 0 */
  db?: number;
  /** TLS: `true`, or Node TLS options such as `{ ca }`. A `rediss://` URL turns it on. @default false */
  tls?: boolean | TlsOptions;
  /** BullMQ key prefix; submitters and nodes must agree on it. @default 'bull' */
  prefix?: string;
  /**
   * The host is a node of a Redis Cluster: the others are found from it, and the prefix becomes a hash tag
   * (`{bull}`) so that every key of a queue is in one slot, as BullMQ's scripts need. @default false
   */
  cluster?: boolean;
}

/** Connection options as ioredis takes them, plus a label that never shows the password. */
export interface ResolvedConnection {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  db: number;
  tls: TlsOptions | undefined;
  prefix: string;
  /** Whether `host:port` is a node of a Redis Cluster (see RedisConnectionOptions.cluster). */
  cluster: boolean;
  /** `redis://host:port/db` without credentials, for messages and logs. */
  label: string;
}

function fail(what: string, value: unknown): never {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  throw new TypeError(`Expected ${what}, got \`${shown}\` (${typeof value})`);
}

function parseUrl(url: string): Partial<ResolvedConnection> & { tls?: TlsOptions } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never echo the URL: it may hold a password.
    throw new TypeError(
      'Expected `redis` to be a URL like redis://host:6379 or rediss://host:6380, got an unparsable string',
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TypeError(
      `Expected \`redis\` to be a redis:// or rediss:// URL, got a URL with protocol \`${parsed.protocol}\``,
    );
  }
  const out: Partial<ResolvedConnection> & { tls?: TlsOptions } = {};
  if (parsed.hostname) out.host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (parsed.port) out.port = Number(parsed.port);
  if (parsed.username) out.username = decodeURIComponent(parsed.username);
  if (parsed.password) out.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '') {
    if (!/^\d+$/.test(db))
      throw new TypeError(`Expected the database in the Redis URL to be a number, got \`${db}\``);
    out.db = Number(db);
  }
  if (parsed.protocol === 'rediss:') out.tls = {};
  return out;
}

/** Validates and normalises a `redis` option (URL or object). */
export function resolveConnection(redis: unknown): ResolvedConnection {
  let given: RedisConnectionOptions;
  if (typeof redis === 'string') given = { url: redis };
  else if (redis !== null && typeof redis === 'object' && !Array.isArray(redis))
    given = redis as RedisConnectionOptions;
  else return fail('`redis` to be a redis:// URL or connection options', redis);
  const fromUrl = given.url === undefined ? {} : parseUrl(given.url);
  if (given.url !== undefined && typeof given.url !== 'string') fail('`redis.url` to be a string', given.url);
  const host = given.host ?? fromUrl.host ?? '127.0.0.1';
  const port = given.port ?? fromUrl.port ?? 6379;
  const db = given.db ?? fromUrl.db ?? 0;
  const cluster = given.cluster ?? false;
  if (typeof cluster !== 'boolean') fail('`redis.cluster` to be a boolean', cluster);
  const givenPrefix = given.prefix ?? 'bull';
  if (typeof host !== 'string' || host === '') fail('`redis.host` to be a host name', host);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail('`redis.port` to be a port (1-65535)', port);
  if (!Number.isInteger(db) || db < 0) fail('`redis.db` to be an integer >= 0', db);
  if (typeof givenPrefix !== 'string' || givenPrefix === '' || givenPrefix.includes(':'))
    fail('`redis.prefix` to be a non-empty string without `:`', givenPrefix);
  if (cluster && db !== 0) fail('`redis.db` to be 0 with `cluster` (a Redis Cluster has one database)', db);
  const prefix = cluster && !/\{[^}]+\}/.test(givenPrefix) ? `{${givenPrefix}}` : givenPrefix;
  const username = given.username ?? fromUrl.username;
  const password = given.password ?? fromUrl.password;
  if (username !== undefined && typeof username !== 'string')
    fail('`redis.username` to be a string', username);
  if (password !== undefined && typeof password !== 'string') fail('`redis.password` to be a string', '***');
  let tls: TlsOptions | undefined = fromUrl.tls;
  if (given.tls === true) tls = tls ?? {};
  else if (given.tls === false) tls = undefined;
  else if (given.tls !== undefined) {
    if (given.tls === null || typeof given.tls !== 'object')
      fail('`redis.tls` to be a boolean or TLS options', given.tls);
    tls = { ...tls, ...given.tls };
  }
  if (tls && tls.servername === undefined && !/^[\d.:]+$/.test(host)) tls = { ...tls, servername: host };
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    username,
    password,
    db,
    tls,
    prefix,
    cluster,
    label: `${tls ? 'rediss' : 'redis'}://${shownHost}:${port}${db ? `/${db}` : ''}${cluster ? ' (cluster)' : ''}`,
  };
}

/**
 * ioredis options for one connection. Commands wait through an outage (the pool's own watchdog decides when
 * to give up), and reconnection is retried every second or two rather than backing off to BullMQ's 20 s.
 */
export function ioredisOptions(conn: ResolvedConnection, name: string): Record<string, unknown> {
  return {
    host: conn.host,
    port: conn.port,
    db: conn.db,
    ...(conn.username === undefined ? {} : { username: conn.username }),
    ...(conn.password === undefined ? {} : { password: conn.password }),
    ...(conn.tls ? { tls: conn.tls } : {}),
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(250 * times, 2000),
  };
}
