export { livePids } from './childProcesses.js';
export { freePorts } from './freePorts.js';
export {
  type NatsClusterOptions,
  type RunningNatsCluster,
  startNatsCluster,
} from './natsCluster.js';
export {
  type ClusterSettings,
  type NatsServerOptions,
  type RunningNatsServer,
  startNatsServer,
  waitForHealthz,
} from './natsServer.js';
export { binaryVersionOf, type NatsServerBinary, natsServerBinary } from './natsServerBinary.js';
export { resolveLegacyNatsServer, resolveNatsServer } from './resolveNatsServer.mjs';
export {
  createTestCertificates,
  natsTlsBlock,
  type TestCertificateFiles,
  type TestCertificateOptions,
  verifyTestCertificates,
} from './testCertificates.mjs';
