import { createHash } from 'node:crypto';

/**
 * The rendezvous (highest-random-weight) score of `workerId` for `partition`: the first 64 bits of
 * SHA-256 over `"<partition>:<workerId>"`, read big-endian. Stable across processes, platforms and
 * Node versions, so every worker computes the same desired owner from the same membership.
 */
export function rendezvousScore(partition: number, workerId: string): bigint {
  return createHash('sha256').update(`${partition}:${workerId}`).digest().readBigUInt64BE(0);
}

/**
 * The desired owner of `partition` among `workerIds`: the worker with the highest
 * {@link rendezvousScore} (ties, which need a 64-bit hash collision, go to the smaller id). Undefined
 * when there are no workers. The result does not depend on the order of `workerIds` or on duplicates,
 * and removing a worker only moves the partitions that worker owned; adding one only moves partitions
 * to the newcomer.
 */
export function rendezvousOwner(partition: number, workerIds: readonly string[]): string | undefined {
  if (!Number.isSafeInteger(partition) || partition < 0) {
    throw new RangeError(`partition must be a non-negative integer, got ${partition}`);
  }
  let best: string | undefined;
  let bestScore = -1n;
  for (const id of workerIds) {
    const score = rendezvousScore(partition, id);
    if (score > bestScore || (score === bestScore && best !== undefined && id < best)) {
      best = id;
      bestScore = score;
    }
  }
  return best;
}
