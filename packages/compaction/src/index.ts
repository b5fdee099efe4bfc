// @threadline/compaction — which turns to fold into a summary, and the summarisers that write it.
export { type ExtractiveSummariserOptions, extractiveSummariser } from './extractive.js';
export { type OpenAiCompatibleSummariserOptions, openAiCompatibleSummariser } from './openAiCompatible.js';
export { type PlanCompactionOptions, planCompaction } from './plan.js';
export {
  type CompactionPlan,
  type SummariseRequest,
  type Summariser,
  SummariserError,
  type SummariserErrorCode,
  SummariserErrorCodes,
  type TranscriptTurn,
} from './types.js';
