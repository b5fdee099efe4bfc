// The protocol's message types, so that a publisher needs one import.
export type {
  AgentReplyV1,
  ChatEventV1,
  ControlEventV1,
  DeliveryV1,
  TraceContext,
} from '@threadline/protocol';
export {
  type DeliveriesOptions,
  type DeliveryReader,
  deliveryFilter,
  type InvalidDelivery,
  type ReceivedDelivery,
} from './deliveries.js';
export {
  type ClientErrorCode,
  ClientErrorCodes,
  InvalidMessageError,
  type MessageIssue,
  OpsError,
  type OpsServiceError,
  PublishError,
  ThreadlineClientError,
} from './errors.js';
export {
  type ChatEventIdParts,
  type ControlEventIdParts,
  chatEventId,
  controlEventId,
  type IdPart,
  type ReplyIdParts,
  replyId,
} from './ids.js';
export type {
  BucketStatus,
  ListSessionsOptions,
  ReaderStatus,
  ReplayOptions,
  ReplayPage,
  ReplayRecord,
  ReplicaStatus,
  SessionEntry,
  SessionList,
  SessionRoute,
  SessionRow,
  SessionView,
  StreamStatus,
  SystemStatus,
  TranscriptTurn,
  TranscriptView,
} from './opsTypes.js';
export type { PublishOptions, PublishResult } from './publish.js';
export {
  type AgentReplyInput,
  type ChatEventInput,
  type ClientOptions,
  type ControlEventInput,
  DEFAULT_CLIENT_MAX_BYTES,
  type QueryOptions,
  ThreadlineClient,
} from './threadlineClient.js';
export { randomTraceIds, type TraceIdSource, type TraceInput } from './trace.js';
