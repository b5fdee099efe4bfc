export { buildServices } from './buildServices.js';
export {
  DEFAULT_CLUSTER_DATA_DIR,
  DEFAULT_DATA_DIR,
  DevstackSettingsError,
  readLocalClusterEnv,
  readLocalStackEnv,
} from './env.js';
export {
  type ConnectOptions,
  type CredentialFile,
  IDENTITY_VARIABLES,
  readCredentialFile,
} from './identities.js';
export {
  CLUSTER_NAME,
  CLUSTER_NODES,
  type ClusterService,
  type LocalCluster,
  type LocalClusterOptions,
  startLocalCluster,
} from './localCluster.js';
export {
  describeService,
  type LocalStack,
  type LocalStackOptions,
  type RunningService,
  roleOf,
  SERVICES,
  type ServiceKind,
  startLocalStack,
  startServiceProcess,
} from './localStack.js';
