/**
 * The session store (the projector's read model, KV `threadline-sessions`) as OpenClaw's `openclaw
 * sessions` lists it, and one key's entry with its transcript view (KV `threadline-transcripts`):
 * `threadline sessions list|show --json`, `tl.ops.v1.sessions.list` and `tl.ops.v1.sessions.show`.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { readKvEntry } from '@threadline/event-log';
import type { ProjectedKey, SessionEntry, TranscriptView } from '@threadline/projector';
import { BucketNames } from '@threadline/protocol';
import { snapshotEntryName } from '@threadline/session-worker';
import { NotFoundError } from './errors.js';
import type { SessionsListOptions } from './requests.js';
import { manager, readBucketIfPresent } from './stores.js';

const MINUTE_MS = 60_000;

/** One row of `sessions list --json`: OpenClaw's shape, the entry's own fields after `agentId` and `key`. */
export type SessionRow = { agentId: string | null; key: string; ageMs: number | null } & Omit<
  SessionEntry,
  'sessionKey' | 'agentId'
>;

export interface SessionListV1 {
  /** Rows returned. */
  count: number;
  /** The `--active` window in minutes, null without one. */
  activeMinutes: number | null;
  /** Rows matching the filters before the limit. */
  totalCount: number;
  /** The limit applied, null for `--limit all`. */
  limitApplied: number | null;
  hasMore: boolean;
  sessions: SessionRow[];
}

export function rowOf(entry: SessionEntry, now: number): SessionRow {
  const { sessionKey, agentId, ...rest } = entry;
  return {
    agentId,
    key: sessionKey,
    ageMs: entry.updatedAt === null ? null : Math.max(0, now - entry.updatedAt),
    ...rest,
  };
}

export interface SessionListing {
  list: SessionListV1;
  /** False when there is no session store yet (no projector has run): the list is then empty. */
  storeExists: boolean;
}

/**
 * The store's entries matching the filters, most recently updated first (the key breaks ties), at most
 * `limit` of them. Reads the store in one pass. An absent store is an empty list, not an error.
 */
export async function listSessions(
  nc: NatsConnection,
  options: SessionsListOptions & { now: number },
): Promise<SessionListing> {
  const { activeMinutes, agentId, limit, now } = options;
  const store = await readBucketIfPresent<ProjectedKey>(nc, BucketNames.sessionStore);
  const matching = [...(store?.values() ?? [])]
    .map((k) => k.entry)
    .filter((e) => agentId === undefined || e.agentId === agentId)
    .filter(
      (e) =>
        activeMinutes === null || (e.updatedAt !== null && now - e.updatedAt <= activeMinutes * MINUTE_MS),
    )
    .sort(
      (a, b) =>
        (b.updatedAt ?? Number.NEGATIVE_INFINITY) - (a.updatedAt ?? Number.NEGATIVE_INFINITY) ||
        a.sessionKey.localeCompare(b.sessionKey),
    );
  const shown = limit === null ? matching : matching.slice(0, limit);
  return {
    storeExists: store !== undefined,
    list: {
      count: shown.length,
      activeMinutes,
      totalCount: matching.length,
      limitApplied: limit,
      hasMore: shown.length < matching.length,
      sessions: shown.map((e) => rowOf(e, now)),
    },
  };
}

export interface SessionShowV1 {
  key: string;
  /** The session-stream sequence of the last record folded into the entry. */
  seq: number;
  entry: SessionEntry;
  transcript: TranscriptView | null;
}

/**
 * A key's projected entry and transcript view. Throws {@link NotFoundError} when the store does not know
 * the key (or does not exist yet).
 */
export async function showSession(nc: NatsConnection, key: string): Promise<SessionShowV1> {
  const jsm = await manager(nc);
  const name = snapshotEntryName(key);
  const [stored, view] = await Promise.all([
    readKvEntry(jsm, BucketNames.sessionStore, name),
    readKvEntry(jsm, BucketNames.transcripts, name),
  ]);
  if (!stored)
    throw new NotFoundError(`no session ${JSON.stringify(key)} in the session store`, {
      hint: 'threadline sessions list shows the keys',
    });
  const projected = JSON.parse(stored.text) as ProjectedKey;
  return {
    key,
    seq: projected.seq,
    entry: projected.entry,
    transcript: view ? (JSON.parse(view.text) as TranscriptView) : null,
  };
}
