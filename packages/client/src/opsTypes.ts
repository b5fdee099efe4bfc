/**
 * The JSON documents the ops service answers with (`tl.ops.v1.*`, {@link OpsService}): the same ones
 * `threadline status --json`, `sessions list --json` and `sessions show --json` print. They are declared
 * here, as wire shapes, so that a publisher does not install the service's dependencies (the worker, the
 * projector, the session machine) to read them; `opsTypes.test.ts` checks at type-check time that every
 * document the ops service's own types describe fits these declarations, so they cannot drift apart.
 *
 * Times are epoch milliseconds; `null` where the thing is unknown or absent.
 */

// ───────────────────────────── status ─────────────────────────────

export interface StreamStatus {
  name: string;
  present: boolean;
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
}

export interface BucketStatus {
  bucket: string;
  present: boolean;
  entries: number;
  bytes: number;
}

export interface ReaderStatus {
  /** The checkpoint's name (`route.<p>`, `apply.<p>`, `projector`, …). */
  checkpoint: string;
  value: number;
  stream: string | null;
  streamLastSeq: number | null;
  /** The stream's head minus the checkpoint; for a partition's reader an upper bound. */
  behind: number | null;
  partitioned: boolean;
}

export interface ReplicaStatus {
  id: string;
  host: string;
  pid: number;
  startedAt: number;
}

/** `tl.ops.v1.status`: the whole system at one moment. */
export interface SystemStatus {
  v: 1;
  at: number;
  server: {
    url: string;
    version: string | null;
    cluster: string | null;
    serverName: string | null;
    jetstream: boolean;
  };
  streams: StreamStatus[];
  buckets: BucketStatus[];
  readers: ReaderStatus[];
  workers: {
    partitions: number | null;
    live: (ReplicaStatus & { leases: number[] })[];
    /** Partitions no live lease covers: nobody reads them. */
    unleased: number[];
  };
  scheduler: {
    replicas: ReplicaStatus[];
    leader: string | null;
    firedThroughMinute: number | null;
    firedBefore: number | null;
    pendingTimers: number | null;
    indexCheckpoint: number | null;
    indexBehind: number | null;
  };
  projector: {
    replicas: ReplicaStatus[];
    leader: string | null;
    checkpoint: number | null;
    sessionsLastSeq: number | null;
    /** Session records not yet in the session store. */
    lag: number | null;
  };
  deadLetters: number | null;
  sessions: number | null;
  privacyWarnings: { count: number; keys: string[] };
  recentSessions: {
    key: string;
    agentId: string | null;
    state: string;
    chatType: string;
    updatedAt: number | null;
    messageCount: number;
  }[];
}

// ───────────────────────────── sessions ─────────────────────────────

/** Where a message came from, or where a reply goes. */
export interface SessionRoute {
  channel: string;
  to: string;
  chatType: string;
  accountId?: string;
  threadId?: string;
  provider?: string;
}

/** One session key's entry in the session store (OpenClaw's field names). */
export interface SessionEntry {
  sessionKey: string;
  agentId: string | null;
  sessionId: string | null;
  previousSessionId: string | null;
  /** `new`, `active`, `idle`, `expired` or `compacting`. */
  state: 'new' | 'active' | 'idle' | 'expired' | 'compacting';
  endReason: 'daily' | 'idle' | 'reset' | null;
  updatedAt: number | null;
  startedAt: number | null;
  lastActivityAt: number | null;
  chatType: string;
  channel: string | null;
  origin: SessionRoute | null;
  lastChannel: string | null;
  lastTo: string | null;
  lastAccountId: string | null;
  lastThreadId: string | null;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  contextTokens: number;
  compactionCount: number;
  sendPolicy: 'allow' | 'deny' | null;
  messageCount: number;
  privacyWarning: { at: number; senderIds: string[] } | null;
  thinkingLevel?: string;
  verboseLevel?: string;
  reasoningLevel?: string;
  modelOverride?: string;
  providerOverride?: string;
  label?: string;
  displayName?: string;
  spawnedBy?: string;
}

/** One row of a session list: the entry with `key` for `sessionKey` and its age. */
export type SessionRow = { agentId: string | null; key: string; ageMs: number | null } & Omit<
  SessionEntry,
  'sessionKey' | 'agentId'
>;

/** `tl.ops.v1.sessions.list`: the store's sessions, most recently updated first. */
export interface SessionList {
  count: number;
  activeMinutes: number | null;
  totalCount: number;
  limitApplied: number | null;
  hasMore: boolean;
  sessions: SessionRow[];
}

/** One turn of a transcript view. */
export interface TranscriptTurn {
  /** The message id (user), reply id (assistant), or compaction id (summary). */
  id: string;
  role: 'user' | 'assistant' | 'summary';
  senderId?: string;
  senderName?: string;
  text: string;
  tokens: number;
  at: number;
  toolCallIds?: string[];
  toolResultOf?: string;
}

/** A key's current session since its last compaction, oldest turn first. */
export interface TranscriptView {
  v: 1;
  sessionKey: string;
  sessionId: string | null;
  seq: number;
  turns: TranscriptTurn[];
  /** Turns dropped from the front to keep the view within its byte budget. */
  omitted: number;
}

/** `tl.ops.v1.sessions.show`: one key's entry and transcript view. */
export interface SessionView {
  key: string;
  /** The session-log sequence of the last record folded into the entry. */
  seq: number;
  entry: SessionEntry;
  transcript: TranscriptView | null;
}

// ───────────────────────────── requests ─────────────────────────────

export interface ListSessionsOptions {
  /** Only sessions updated in the last this many minutes. */
  activeMinutes?: number;
  /** Only this agent's sessions. */
  agentId?: string;
  /** At most this many rows, 1–1000 (default 100); `hasMore` says whether rows were left out. */
  limit?: number;
}

// ───────────────────────────── replay ─────────────────────────────

/** One session record as the log holds it (`threadline replay --json` prints one per line). */
export interface ReplayRecord {
  /** The record's sequence in the session stream. */
  seq: number;
  sessionKey: string;
  at: number;
  id: string;
  hash: string;
  prevHash: string;
  /** The transition: its input, facts, timers and answers (the worker's record format). */
  body: unknown;
}

/** `tl.ops.v1.replay`: one page of records in stream order. */
export interface ReplayPage {
  records: ReplayRecord[];
  count: number;
  /** More records in range follow: ask again with `afterSeq: nextSeq`. */
  hasMore: boolean;
  /** The cursor for the next page (also to pick up records appended later). */
  nextSeq: number;
  /** Every key's replay: stored messages in this page's span that are not records, skipped. */
  unreadable: number;
}

export interface ReplayOptions {
  /** One key's records; every key's, in stream order, without it. */
  sessionKey?: string;
  /** Records at or after this time: epoch ms, or ISO 8601 text. */
  since?: number | string;
  /** Records before this time: epoch ms, or ISO 8601 text. */
  until?: number | string;
  /** At most this many records per page, 1–1000 (default 100). */
  limit?: number;
  /** Only records after this session-stream sequence: the previous page's `nextSeq`. */
  afterSeq?: number;
}
