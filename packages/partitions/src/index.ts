export {
  defaultHeartbeatMs,
  type Leadership,
  type LeadershipOptions,
  leaseTimings,
  startLeadership,
} from './leadership.js';
export {
  LEASE_BUCKET,
  type LeaseRecord,
  leaseKey,
  type PartitionOwnership,
  type PartitionOwnershipOptions,
  PartitionsError,
  type PartitionsErrorCode,
  PartitionsErrorCodes,
  REGISTRY_BUCKET,
  type ReleaseReason,
  startPartitionOwnership,
  type WorkerRecord,
} from './ownership.js';
export { rendezvousOwner, rendezvousScore } from './rendezvous.js';
