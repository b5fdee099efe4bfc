export { WORKER_METRICS, workerMetrics } from './metrics.js';
export { type LogLine, type RunningWorker, runWorker } from './run.js';
export { readSettings, SETTINGS_DEFAULTS, SettingsError, type WorkerSettings } from './settings.js';
