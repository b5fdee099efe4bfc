export { OPS_METRICS, opsMetrics } from './metrics.js';
export { type RunningOps, runOps, STATUS_INTERVAL_MS } from './run.js';
export { type OpsSettings, readSettings, SETTINGS_DEFAULTS, SettingsError } from './settings.js';
