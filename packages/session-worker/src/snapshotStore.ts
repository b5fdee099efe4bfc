/**
 * Where passivated actors wait: the key's {@link KeyState} as of some record. A PORT with a NATS KV
 * adapter and an in-memory twin. A stored snapshot is only ever a shortcut — the log stays the truth:
 * loading a key reads the records after the snapshot's head, so a stale (or lost) snapshot costs time,
 * never correctness.
 */
import { createHash } from 'node:crypto';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { canonicalJson } from '@threadline/event-log';
import { BucketNames } from '@threadline/protocol';
import { parseSnapshot, SnapshotVersionError } from '@threadline/session-core';
import type { KeyState } from './keyState.js';

export interface SnapshotStore {
  /** The stored state of `sessionKey`, or undefined (never stored, or written by another machine version). */
  get(sessionKey: string): Promise<KeyState | undefined>;
  put(state: KeyState): Promise<void>;
}

export const SNAPSHOT_BUCKET = BucketNames.snapshots;

/** KV keys allow few characters; session keys hold anything, so the entry is named by the key's hash. */
export function snapshotEntryName(sessionKey: string): string {
  return createHash('sha256').update(sessionKey).digest('hex');
}

interface StoredKeyState {
  v: 1;
  sessionKey: string;
  snapshot: string;
  head: KeyState['head'];
  appliedSeq: number;
  recentInputIds: string[];
}

function encode(state: KeyState): string {
  const stored: StoredKeyState = {
    v: 1,
    sessionKey: state.sessionKey,
    snapshot: canonicalJson(state.snapshot),
    head: state.head,
    appliedSeq: state.appliedSeq,
    recentInputIds: [...state.recentInputIds],
  };
  return JSON.stringify(stored);
}

function decode(sessionKey: string, text: string): KeyState | undefined {
  const stored = JSON.parse(text) as StoredKeyState;
  // A hash collision or a foreign entry: never hand another key's state out.
  if (stored?.v !== 1 || stored.sessionKey !== sessionKey) return undefined;
  try {
    return {
      sessionKey,
      snapshot: parseSnapshot(stored.snapshot),
      head: stored.head,
      appliedSeq: stored.appliedSeq,
      recentInputIds: stored.recentInputIds,
    };
  } catch (error) {
    if (error instanceof SnapshotVersionError) return undefined; // replay the log instead
    throw error;
  }
}

export class MemorySnapshotStore implements SnapshotStore {
  readonly #entries = new Map<string, string>();
  puts = 0;

  async get(sessionKey: string): Promise<KeyState | undefined> {
    const text = this.#entries.get(snapshotEntryName(sessionKey));
    return text === undefined ? undefined : decode(sessionKey, text);
  }

  async put(state: KeyState): Promise<void> {
    this.puts += 1;
    this.#entries.set(snapshotEntryName(state.sessionKey), encode(state));
  }

  get size(): number {
    return this.#entries.size;
  }
}

export class KvSnapshotStore implements SnapshotStore {
  private constructor(private readonly kv: KV) {}

  /** Opens (creating if needed) the snapshot bucket: file storage, one revision per key. */
  static async open(
    nc: NatsConnection,
    options: { bucket?: string; replicas?: number } = {},
  ): Promise<KvSnapshotStore> {
    const kv = await new Kvm(nc).create(options.bucket ?? SNAPSHOT_BUCKET, {
      history: 1,
      storage: 'file',
      replicas: options.replicas ?? 1,
    });
    return new KvSnapshotStore(kv);
  }

  async get(sessionKey: string): Promise<KeyState | undefined> {
    const entry = await this.kv.get(snapshotEntryName(sessionKey));
    if (entry?.operation !== 'PUT') return undefined;
    return decode(sessionKey, entry.string());
  }

  async put(state: KeyState): Promise<void> {
    await this.kv.put(snapshotEntryName(state.sessionKey), encode(state));
  }
}
