// @threadline/service-runtime — what every service process shares (settings, config, connection and
// clock, logs, the main's signal handling), so each service is only its own composition.
export { loadConfig } from './config.js';
export { connectService, type ServiceClock, serviceClock } from './connection.js';
export { errorFields, jsonLog, type Log, type LogLine, logEvery } from './log.js';
export { type MainProcess, runMain, type Stoppable } from './runMain.js';
export {
  COMMON_DEFAULTS,
  type CommonSettings,
  type CommonSettingsOptions,
  type Environment,
  readCommonSettings,
  SettingsError,
  SettingsReader,
} from './settings.js';
