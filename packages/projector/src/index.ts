// @threadline/projector — the session store as a projection of the event log (see projector.ts).

export {
  auditProjection,
  type ProjectionAuditOptions,
  type ProjectionAuditReportV1,
  type ProjectionAuditResult,
  projectionAuditLines,
} from './audit.js';
export { forgetProjection } from './forgetProjection.js';
export {
  DEFAULT_TRANSCRIPT_BUDGET_BYTES,
  emptyProjectedKey,
  emptyTranscriptView,
  entryOf,
  type FoldProblem,
  type FoldResult,
  foldIntoProjection,
  type ProjectedKey,
  type SessionEntry,
  type TranscriptView,
} from './projection.js';
export {
  LIVE_PROJECTION,
  openProjectionBuckets,
  PROJECTOR_CHECKPOINT,
  type ProjectionBuckets,
  type Projector,
  type ProjectorOptions,
  type ProjectorReplica,
  type ProjectorReplicaOptions,
  type ProjectorStatus,
  startProjector,
  startProjectorReplica,
} from './projector.js';
export {
  compareProjections,
  type KeyDifference,
  type ProjectionComparison,
  RebuildError,
  type RebuildOptions,
  type RebuildReport,
  readBucket,
  rebuildProjection,
  sessionStreamHead,
} from './rebuild.js';
