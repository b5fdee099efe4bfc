export {
  type Clock,
  ClockError,
  type ClockErrorCode,
  ClockErrorCodes,
  chooseClock,
  SimulatedClock,
  SystemClock,
} from './clock.js';
export {
  driveSharedClock,
  followSharedClock,
  SHARED_CLOCK_BUCKET,
  SHARED_CLOCK_KEY,
  type SharedClockOptions,
} from './sharedClock.js';
