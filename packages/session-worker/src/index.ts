// @threadline/session-worker — the session worker's runtime (see worker.ts for the whole picture).
export { forgetSnapshots } from './forgetSnapshots.js';
export {
  chatInput,
  controlInput,
  deliveryVerdict,
  deterministicUuid,
  type InputContext,
  isSharedDm,
  replyInput,
  sessionKeyOf,
  type WorkItem,
} from './inputs.js';
export {
  type Divergence,
  decideInput,
  emptyKeyState,
  foldRecord,
  type KeyState,
  RECENT_INPUT_IDS,
  type Verdict,
} from './keyState.js';
export {
  emptyPartitionMetrics,
  type PartitionLag,
  type PartitionMetrics,
  type PartitionRunner,
  type PartitionRunnerOptions,
  startPartitionRunner,
} from './partitionRunner.js';
export {
  type RecordSource,
  type RoutedChatV1,
  routedChatV1Schema,
  TRANSITION_RECORD_SCHEMA_VERSION,
  type TransitionRecordV1,
} from './records.js';
export {
  type ApplyOutcome,
  type ApplyResult,
  SessionActors,
  type SessionActorsMetrics,
  type SessionActorsOptions,
} from './sessionActors.js';
export {
  KvSnapshotStore,
  MemorySnapshotStore,
  SNAPSHOT_BUCKET,
  type SnapshotStore,
  snapshotEntryName,
} from './snapshotStore.js';
export {
  nextHop,
  randomTraceIds,
  recordTraceOf,
  type TraceIds,
  traceMsgHeaders,
  traceOf,
} from './tracing.js';
export {
  EMPTY_TRANSCRIPT,
  type Transcript,
  type TurnSource,
  type TurnSources,
  transcriptOf,
  transcriptStep,
  turnSourcesOf,
} from './transcript.js';
export {
  type SessionWorker,
  type SessionWorkerOptions,
  startSessionWorker,
  type WorkerEvent,
} from './worker.js';
