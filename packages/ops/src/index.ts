// @threadline/ops — operations as data (status, sessions list and show, replay), shared by the
// `threadline` CLI and the ops service, and the ops service itself: the same answers over NATS
// request/reply, discoverable and measured through the NATS services protocol ($SRV.PING|INFO|STATS).
export {
  BadRequestError,
  NotFoundError,
  OPS_ERROR_STATUS,
  OpsError,
  type OpsErrorCode,
  OpsErrorCodes,
  type OpsErrorOptions,
} from './errors.js';
export {
  controlSubjects,
  DEFAULT_QUEUE_GROUP,
  type EndpointInfo,
  type EndpointStats,
  type InfoResponse,
  type MicroEndpoint,
  MicroResponseTypes,
  type MicroService,
  type MicroServiceConfig,
  type PingResponse,
  ServiceError,
  ServiceErrorHeaders,
  type StatsResponse,
  startMicroService,
} from './microService.js';
export { OPS_ENDPOINTS, OPS_SERVICE_VERSION, type OpsServiceOptions, startOpsService } from './opsService.js';
export {
  type ReplayOptions,
  type ReplayPageV1,
  type ReplayRecordV1,
  replayPage,
  replayRecordOf,
  replayRecords,
  storeError,
} from './replay.js';
export {
  DEFAULT_LIMIT,
  MAX_LIMIT,
  parseReplayRequest,
  parseRequest,
  parseSessionsListRequest,
  parseSessionsShowRequest,
  parseStatusRequest,
  parseTime,
  parseTimeRange,
  type ReplayPageRequest,
  type SessionsListOptions,
  showTime,
  TIME_FORMS,
  type TimeRange,
} from './requests.js';
export {
  listSessions,
  rowOf,
  type SessionListing,
  type SessionListV1,
  type SessionRow,
  type SessionShowV1,
  showSession,
} from './sessions.js';
export {
  type BucketStatus,
  collectStatus,
  MINUTE_MS,
  type ReaderStatus,
  type ReplicaStatus,
  type StatusOptions,
  type StatusV1,
  type StreamStatus,
} from './status.js';
export { isStreamNotFound, manager, readBucketIfPresent, streamInfo } from './stores.js';
