export {
  checkServerVersion,
  compareServerVersions,
  MIN_NATS_SERVER_VERSION,
  parseServerVersion,
  type ServerVersion,
  type ServerVersionVerdict,
} from './serverVersion.js';
export {
  decodeSubjectToken,
  encodeSubjectToken,
  isValidSubjectToken,
  SubjectTokenError,
} from './subjectToken.js';
