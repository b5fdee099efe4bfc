// @threadline/scheduler — durable timers and daily-boundary ticks (see scheduler.ts).
export { forgetTimers } from './forgetTimers.js';
export {
  type Scheduler,
  SchedulerCheckpoints,
  type SchedulerEvent,
  type SchedulerOptions,
  type SchedulerStatus,
  startScheduler,
  TIMER_BUCKET,
} from './scheduler.js';
export { type TickV1, tickAt, tickSchedule, ticksBetween } from './ticks.js';
export {
  ChangeBatch,
  entryName,
  firingId,
  keyHash,
  MINUTE_MS,
  minuteOf,
  minutePrefix,
  type TimerChange,
  type TimerEntry,
  timerChangesOf,
} from './timerIndex.js';
