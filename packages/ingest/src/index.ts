export {
  type IngestedInput,
  type IngestMetrics,
  type IngestOptions,
  type RunningIngest,
  startIngest,
} from './ingest.js';
