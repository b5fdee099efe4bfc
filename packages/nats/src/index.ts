export {
  type ConnectToNatsOptions,
  connectToNats,
  type NatsErrorCode,
  NatsErrorCodes,
  NatsServerVersionError,
} from './connectToNats.js';
export { natsServerList } from './serverList.js';
