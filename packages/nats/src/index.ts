export {
  type ConfigPassword,
  generateIdentities,
  type Identity,
  identitiesFromEnvironment,
  passwordVariableOf,
  randomPassword,
  renderAuthorization,
} from './authorization.js';
export {
  type ConnectToNatsOptions,
  connectToNats,
  type NatsErrorCode,
  NatsErrorCodes,
  NatsServerVersionError,
} from './connectToNats.js';
export {
  CREDENTIAL_VARIABLES,
  type CredentialSourceNames,
  type CredentialSources,
  credentialOptions,
  type NatsCredentials,
  readCredentials,
  redactCredentials,
} from './credentials.js';
export {
  inboxPrefixOf,
  ROLE_SUMMARIES,
  ROLES,
  type Role,
  type RolePermissions,
  rolePermissions,
  type SubjectRules,
  USER_NAME_PATTERN,
} from './permissions.js';
export { natsServerList } from './serverList.js';
