export { SCHEDULER_METRICS, schedulerMetrics } from './metrics.js';
export { type RunningScheduler, runScheduler, STATUS_INTERVAL_MS } from './run.js';
export { readSettings, type SchedulerSettings, SETTINGS_DEFAULTS, SettingsError } from './settings.js';
