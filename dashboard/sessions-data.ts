/**
 * Reads what a session's timeline is built from: the session from the cluster and its BullMQ jobs
 * from Redis (by their deterministic ids, DESIGN §6). Shared by the Sessions page and
 * `stash-hooks describe`. Read-only: nothing here writes to the cluster or to Redis.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Cluster, Redis } from 'ioredis';
import { getOrUndefined, kubeError } from '../shared/kube-api.js';
import { STASH_GROUP, STASH_VERSION, StashResource, type Session, type SessionKind } from '../shared/resources.js';
import { buildTimeline, timelineJobRefs, type SessionTimeline, type TimelineJob } from '../shared/timeline.js';

/** One session in the list: enough to filter, sort and link. */
export interface SessionListItem {
  kind: SessionKind;
  namespace: string;
  name: string;
  uid: string;
  phase: string;
  created?: string;
  duration?: string;
  targets: number;
}

const PLURAL: Record<SessionKind, string> = { BackupSession: StashResource.BackupSession, RestoreSession: StashResource.RestoreSession };

/** `backupsession`, `backupsessions`, `BackupSession`, `bs`, `restoresession(s)`, `rs` → the kind. */
export function parseSessionKind(raw: string): SessionKind | undefined {
  const k = raw
    .trim()
    .toLowerCase()
    .replace(/\.stash\.appscode\.com$/, '');
  if (['backupsession', 'backupsessions', 'bs'].includes(k)) return 'BackupSession';
  if (['restoresession', 'restoresessions', 'rs'].includes(k)) return 'RestoreSession';
  return undefined;
}

/** Reads sessions from the cluster. */
export class SessionReader {
  private readonly custom: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async get(kind: SessionKind, namespace: string, name: string): Promise<Session | undefined> {
    const obj = await getOrUndefined(
      () => this.custom.getNamespacedCustomObject({ group: STASH_GROUP, version: STASH_VERSION, namespace, plural: PLURAL[kind], name }),
      `${kind} ${namespace}/${name}`,
    );
    return obj ? ({ kind, ...(obj as object) } as Session) : undefined;
  }

  /** Every session of `kinds` (in `namespace`, else all), as returned by the API. */
  async list(kinds: readonly SessionKind[], namespace?: string): Promise<Session[]> {
    const lists = await Promise.all(
      kinds.map(async (kind) => {
        try {
          const res = (
            namespace
              ? await this.custom.listNamespacedCustomObject({ group: STASH_GROUP, version: STASH_VERSION, namespace, plural: PLURAL[kind] })
              : await this.custom.listClusterCustomObject({ group: STASH_GROUP, version: STASH_VERSION, plural: PLURAL[kind] })
          ) as { items?: Session[] };
          return (res.items ?? []).map((s) => ({ ...s, kind }) as Session);
        } catch (err) {
          throw kubeError(err, `list ${PLURAL[kind]}${namespace ? ` in ${namespace}` : ''}`);
        }
      }),
    );
    return lists.flat();
  }
}

/** The list entry of a session. */
export function listItemOf(session: Session): SessionListItem {
  const m = session.metadata;
  const kind: SessionKind = session.kind === 'RestoreSession' ? 'RestoreSession' : 'BackupSession';
  const targets = kind === 'RestoreSession' ? 1 : ((session.status as { targets?: unknown[] } | undefined)?.targets?.length ?? 0);
  return {
    kind,
    namespace: m.namespace ?? '',
    name: m.name ?? '',
    uid: m.uid ?? '',
    phase: session.status?.phase ?? 'Pending',
    ...(m.creationTimestamp ? { created: m.creationTimestamp } : {}),
    ...(session.status?.sessionDuration ? { duration: session.status.sessionDuration } : {}),
    targets,
  };
}

const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
const json = (v: string | undefined): unknown => {
  if (v === undefined || v === '') return undefined;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
};

/**
 * Reads the session's jobs in one round trip: a pipeline of `HGETALL <prefix>:<queue>:<id>`,
 * the hash BullMQ keeps per job (`Job.fromId` reads the same). `prefix` is the BullMQ prefix as
 * the queues use it (hash-tagged on Cluster, so every key is in one slot). Hook output is not
 * kept: the timeline needs only where a hook ran and how it ended.
 */
export async function readSessionJobs(redis: Redis | Cluster, prefix: string, session: Session): Promise<Map<string, TimelineJob>> {
  const refs = timelineJobRefs(session);
  const pipeline = redis.pipeline();
  for (const r of refs) pipeline.hgetall(`${prefix}:${r.queue}:${r.id}`);
  const replies = (await pipeline.exec()) ?? [];
  const jobs = new Map<string, TimelineJob>();
  refs.forEach((r, i) => {
    const [err, hash] = replies[i] ?? [];
    const h = (err ? undefined : hash) as Record<string, string> | undefined;
    if (!h || Object.keys(h).length === 0) return;
    const processedOn = num(h.processedOn);
    const finishedOn = num(h.finishedOn);
    const delay = num(h.delay);
    const state = finishedOn ? (h.failedReason ? 'failed' : 'completed') : processedOn ? 'active' : delay ? 'delayed' : 'waiting';
    const data = json(h.data) as { hookAttempts?: number } | undefined;
    const returned = json(h.returnvalue) as { outcome?: string; message?: string; durationMs?: number; hosts?: Array<Record<string, unknown>> } | undefined;
    jobs.set(r.id, {
      queue: r.queue,
      id: r.id,
      state,
      ...(num(h.timestamp) !== undefined ? { timestamp: num(h.timestamp) } : {}),
      ...(processedOn !== undefined ? { processedOn } : {}),
      ...(finishedOn !== undefined ? { finishedOn } : {}),
      ...(num(h.atm) !== undefined ? { attemptsMade: num(h.atm) } : {}),
      ...(h.failedReason ? { failedReason: h.failedReason } : {}),
      ...(typeof data?.hookAttempts === 'number' ? { data: { hookAttempts: data.hookAttempts } } : {}),
      ...(returned && typeof returned.outcome === 'string'
        ? {
            returnvalue: {
              outcome: returned.outcome,
              message: String(returned.message ?? ''),
              durationMs: Number(returned.durationMs ?? 0),
              hosts: (returned.hosts ?? []).map((x) => ({
                where: String(x.where ?? ''),
                durationMs: Number(x.durationMs ?? 0),
                ...(typeof x.exitCode === 'number' ? { exitCode: x.exitCode } : {}),
                ...(typeof x.statusCode === 'number' ? { statusCode: x.statusCode } : {}),
              })),
            },
          }
        : {}),
    });
  });
  return jobs;
}

/** Reads the session and its jobs and builds its timeline; undefined when the session is gone. */
export async function loadTimeline(
  deps: { sessions: SessionReader; redis?: Redis | Cluster; prefix: string },
  kind: SessionKind,
  namespace: string,
  name: string,
  nowMs = Date.now(),
): Promise<{ timeline: SessionTimeline; jobsRead: boolean } | undefined> {
  const session = await deps.sessions.get(kind, namespace, name);
  if (!session) return undefined;
  let jobs = new Map<string, TimelineJob>();
  let jobsRead = false;
  if (deps.redis) {
    try {
      jobs = await readSessionJobs(deps.redis, deps.prefix, session);
      jobsRead = true;
    } catch {
      // Redis down: the conditions alone still tell the story (DESIGN §6 "Kubernetes status is the truth").
    }
  }
  return { timeline: buildTimeline({ session, jobs, nowMs }), jobsRead };
}
