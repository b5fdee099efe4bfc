/**
 * Reader progress: the last stream sequence a partition's reader has fully processed. A PORT with a NATS
 * KV adapter and an in-memory twin. A checkpoint may lag what was processed (it is written after the
 * work, every so often); it never runs ahead, so a restart re-reads a little and skips it by the records'
 * own idempotency.
 */
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

export interface CheckpointStore {
  /** The checkpoint, 0 when none was written. */
  get(name: string): Promise<number>;
  /** Records progress; never moves a checkpoint backwards. */
  set(name: string, seq: number): Promise<void>;
}

export const CHECKPOINT_BUCKET = 'threadline-checkpoints';

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
    if (entry?.operation !== 'PUT') return 0;
    const value = Number(entry.string());
    return Number.isSafeInteger(value) && value > 0 ? value : 0;
  }

  async set(name: string, seq: number): Promise<void> {
    // Two readers of one partition (a hand-over overlapping for a moment) may race: keep the larger value.
    for (let attempt = 0; attempt < 5; attempt++) {
      const entry = await this.kv.get(name);
      const current = entry?.operation === 'PUT' ? Number(entry.string()) : 0;
      if (current >= seq) return;
      try {
        if (entry) await this.kv.update(name, String(seq), entry.revision);
        else await this.kv.create(name, String(seq));
        return;
      } catch {
        // Lost the race: look again.
      }
    }
  }
}
