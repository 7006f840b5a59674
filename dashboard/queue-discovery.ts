/**
 * Finds the BullMQ queues that exist under a prefix, so the dashboard also shows queues added
 * after this version (or by another tool sharing the prefix).
 */
import type { Cluster, Redis } from 'ioredis';

// Every BullMQ queue has a `meta` hash (written when a Queue is created) and an `id` counter
// (written on the first add); either one proves the queue exists.
const MARKER_KEYS = ['meta', 'id'];

/** Names of queues under `prefix`, sorted; names containing `:` are not BullMQ queue names. */
export async function discoverQueueNames(redis: Redis | Cluster, prefix: string): Promise<string[]> {
  const found = new Set<string>();
  // SCAN walks one node; a Cluster's keys are spread over its masters.
  const nodes: Redis[] = 'isCluster' in redis && redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const rest = key.slice(prefix.length + 1);
        const colon = rest.lastIndexOf(':');
        if (colon <= 0) continue;
        const name = rest.slice(0, colon);
        if (MARKER_KEYS.includes(rest.slice(colon + 1)) && !name.includes(':')) found.add(name);
      }
    } while (cursor !== '0');
  }
  return [...found].sort();
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
