export {
  type ConnectToNatsOptions,
  connectToNats,
  type NatsErrorCode,
  NatsErrorCodes,
  NatsServerVersionError,
} from './connectToNats.js';
