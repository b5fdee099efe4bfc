export { PROJECTOR_METRICS, projectorMetrics } from './metrics.js';
export { type RunningProjector, runProjector, STATUS_INTERVAL_MS } from './run.js';
export { type ProjectorSettings, readSettings, SETTINGS_DEFAULTS, SettingsError } from './settings.js';
