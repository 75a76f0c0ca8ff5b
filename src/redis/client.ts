// Redis clients for the submitter and the node: one server, or a Redis Cluster found from one of its nodes.
import { Cluster, Redis } from 'ioredis';
import { ioredisOptions, type ResolvedConnection } from './connection.js';

/**
 * A client for `conn`. A Cluster client speaks the same commands as a single server's and is typed as one,
 * so that callers need not care which Redis they talk to.
 */
export function createClient(conn: ResolvedConnection, name: string): Redis {
  const options = ioredisOptions(conn, name);
  if (!conn.cluster) return new Redis(options as never);
  const { host, port, db: _db, retryStrategy, ...perNode } = options;
  return new Cluster([{ host: host as string, port: port as number }], {
    redisOptions: perNode as never,
    clusterRetryStrategy: retryStrategy as (times: number) => number,
    // Commands wait through a reshuffle of the cluster as through an outage (see ioredisOptions).
    enableOfflineQueue: true,
  }) as unknown as Redis;
}

/**
 * What BullMQ takes as a connection: for one server, options (BullMQ makes the client and closes it); for a
 * cluster, a client (BullMQ cannot make a cluster client from options), which `owned` holds for the caller
 * to disconnect once BullMQ is closed.
 */
export function bullConnection(
  conn: ResolvedConnection,
  name: string,
): { connection: never; owned: Redis | null } {
  if (!conn.cluster) return { connection: ioredisOptions(conn, name) as never, owned: null };
  const client = createClient(conn, name);
  return { connection: client as never, owned: client };
}
