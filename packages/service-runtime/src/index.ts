// @threadline/service-runtime — what every service process shares (settings, config, connection and
// clock, logs, metrics and the ops HTTP server, the main's signal handling), so each service is only its
// own composition.

export type { NatsCredentials } from '@threadline/nats';
export { loadConfig } from './config.js';
export { connectService, type ServiceClock, serviceClock } from './connection.js';
export {
  errorFields,
  jsonLog,
  type Log,
  type LogLine,
  logEvery,
  logTo,
  type ServiceLoggerOptions,
  serviceLog,
  serviceLogger,
} from './log.js';
export {
  Counter,
  counter,
  escapeHelp,
  escapeLabelValue,
  flag,
  formatValue,
  Gauge,
  gauge,
  type Labels,
  METRICS_CONTENT_TYPE,
  type MetricSample,
  MetricsRegistry,
  type MetricType,
  renderMetrics,
} from './metrics.js';
export {
  type OpsServer,
  type OpsServerOptions,
  processMetrics,
  type Readiness,
  type ServicePhase,
  serviceReadiness,
  startOpsServer,
  startServiceOps,
} from './opsServer.js';
export { type MainProcess, runMain, type Stoppable } from './runMain.js';
export { SAMPLE_INTERVAL_MS, type Sampled, sampleEvery, streamMessageCount } from './sampled.js';
export { type RunningService, runService, type ServiceOptions, STATUS_INTERVAL_MS } from './service.js';
export {
  COMMON_DEFAULTS,
  type CommonSettings,
  type CommonSettingsOptions,
  type Environment,
  LOG_LEVELS,
  type LogLevel,
  type NatsAuthSettings,
  natsCredentialsOf,
  type ObservabilitySettings,
  readCommonSettings,
  readNatsAuthSettings,
  SettingsError,
  SettingsReader,
} from './settings.js';
