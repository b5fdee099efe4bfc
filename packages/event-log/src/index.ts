export {
  type AuditLogOptions,
  type AuditProblem,
  type AuditProblemKind,
  type AuditReport,
  auditLog,
} from './auditLog.js';
export {
  type CheckpointedReader,
  type CheckpointedReaderOptions,
  type ReadMessage,
  startCheckpointedReader,
} from './checkpointedReader.js';
export {
  CHECKPOINT_BUCKET,
  type CheckpointStore,
  KvCheckpointStore,
  MemoryCheckpointStore,
  parseCheckpoint,
} from './checkpoints.js';
export { eraseMessages, purgeKvEntries } from './erase.js';
export {
  ChainError,
  ConcurrencyError,
  CorruptRecordError,
  type EventLogErrorCode,
  EventLogErrorCodes,
  InvalidRecordError,
  RecordIdConflictError,
  RecordTooLargeError,
} from './errors.js';
export {
  announceForgotten,
  FORGOTTEN_SUBJECT,
  type ForgottenAckV1,
  type ForgottenListener,
  type ForgottenV1,
  listenForgotten,
} from './forgotten.js';
export { inWindows } from './inWindows.js';
export { readKvEntry } from './kvEntry.js';
export { MemorySessionLog, type MemorySessionLogOptions } from './memorySessionLog.js';
export {
  decodeStoredRecord,
  NatsSessionLog,
  type NatsSessionLogOptions,
  RecordHeaders,
} from './natsSessionLog.js';
export {
  compareStreamConfig,
  ensureThreadlineStreams,
  LIMIT_FIELDS,
  ProvisioningError,
  type ProvisioningErrorCode,
  ProvisioningErrorCodes,
  type ProvisionOptions,
  type ProvisionReport,
  provisionStreams,
  type StreamMismatch,
  type StreamProvisionResult,
} from './provisionStreams.js';
export { canonicalJson, GENESIS_HASH, type HashedFields, recordHash, sha256Hex } from './recordHash.js';
export {
  DEFAULT_CLOCK_SLACK_MS,
  type ReplayAllOptions,
  type ReplayBounds,
  type ReplaySessionOptions,
  type ReplayStoreOptions,
  replayAll,
  replaySession,
} from './replay.js';
export {
  type ScanStart,
  type ScanStreamOptions,
  type StoredMessage,
  scanStream,
} from './scanStream.js';
export {
  type AppendInput,
  type AppendResult,
  DEFAULT_SCHEMA_VERSION,
  DUPLICATE_PROBE_LIMIT,
  type LogHead,
  MAX_BODY_BYTES,
  MAX_ID_LENGTH,
  MAX_SUBJECT_LENGTH,
  type ReadOptions,
  type RecordTrace,
  type SessionLog,
  type SessionRecord,
} from './sessionLog.js';
export {
  DEAD_LETTER_MAX_BYTES,
  DEFAULT_DEAD_LETTER_MAX_AGE_MS,
  DEFAULT_INBOUND_MAX_AGE_MS,
  DEFAULT_PARTITIONS,
  DEFAULT_RETENTION,
  DELIVERY_MAX_BYTES,
  DUPLICATE_WINDOW_MS,
  INBOUND_MESSAGE_MAX_BYTES,
  inboundPartitionFilter,
  KEYED_MESSAGE_MAX_BYTES,
  keyedPartitionFilter,
  MAX_MAX_AGE_MS,
  MAX_PARTITIONS,
  MIN_SESSIONS_MAX_AGE_MS,
  nanosFromMs,
  parseStoredSubject,
  RETENTION_STREAMS,
  type RetentionStream,
  SESSION_RECORD_MAX_BYTES,
  type StoredSubject,
  type StreamLimits,
  type StreamRetention,
  type ThreadlineStreamConfig,
  type ThreadlineStreamsOptions,
  threadlineStreams,
} from './streams.js';
export {
  type ChainProblem,
  type ChainProblemKind,
  type ChainVerdict,
  type VerifyChainOptions,
  verifyChain,
} from './verifyChain.js';
