/**
 * Reader progress: the last stream sequence a partition's reader has fully processed. A PORT with a NATS
 * KV adapter and an in-memory twin. A checkpoint may lag what was processed (it is written after the
 * work, every so often); it never runs ahead, so a restart re-reads a little and skips it by the records'
 * own idempotency.
 */
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BucketNames } from '@threadline/protocol';

export interface CheckpointStore {
  /** The checkpoint, 0 when none was written. */
  get(name: string): Promise<number>;
  /** Records progress; never moves a checkpoint backwards. */
  set(name: string, seq: number): Promise<void>;
}

export const CHECKPOINT_BUCKET = BucketNames.checkpoints;

/** A stored checkpoint's text as a sequence: 0 for anything that is not a positive safe integer. */
export function parseCheckpoint(text: string): number {
  const value = Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

export class MemoryCheckpointStore implements CheckpointStore {
  readonly values = new Map<string, number>();
  async get(name: string): Promise<number> {
    return this.values.get(name) ?? 0;
  }
  async set(name: string, seq: number): Promise<void> {
    this.values.set(name, Math.max(this.values.get(name) ?? 0, seq));
  }
}

export class KvCheckpointStore implements CheckpointStore {
  private readonly revisions = new Map<string, { seq: number; revision: number }>();
  private constructor(private readonly kv: KV) {}

  static async open(
    nc: NatsConnection,
    options: { bucket?: string; replicas?: number } = {},
  ): Promise<KvCheckpointStore> {
    const kv = await new Kvm(nc).create(options.bucket ?? CHECKPOINT_BUCKET, {
      history: 1,
      storage: 'file',
      replicas: options.replicas ?? 1,
    });
    return new KvCheckpointStore(kv);
  }

  async get(name: string): Promise<number> {
    const entry = await this.kv.get(name);
    return entry?.operation === 'PUT' ? parseCheckpoint(entry.string()) : 0;
  }

  async set(name: string, seq: number): Promise<void> {
    // The common case is one round trip: an update on the revision this process wrote last.
    const known = this.revisions.get(name);
    if (known !== undefined && known.seq < seq) {
      try {
        this.revisions.set(name, { seq, revision: await this.kv.update(name, String(seq), known.revision) });
        return;
      } catch {
        this.revisions.delete(name); // someone else wrote it: look
      }
    }
    // Two readers of one partition (a hand-over overlapping for a moment) may race: keep the larger value.
    // Every lost race means another write landed, so this ends once the stored value is at least `seq`.
    for (;;) {
      const entry = await this.kv.get(name);
      const current = entry?.operation === 'PUT' ? Number(entry.string()) : 0;
      if (current >= seq) return;
      try {
        const revision = entry
          ? await this.kv.update(name, String(seq), entry.revision)
          : await this.kv.create(name, String(seq));
        this.revisions.set(name, { seq, revision });
        return;
      } catch (error) {
        // Lost the race (wrong last sequence): look again. Anything else is the caller's problem.
        if (!/wrong last sequence|key exists/i.test((error as Error).message)) throw error;
      }
    }
  }
}
