export {
  checkServerVersion,
  compareServerVersions,
  MIN_NATS_SERVER_VERSION,
  parseServerVersion,
  type ServerVersion,
  type ServerVersionVerdict,
} from './serverVersion.js';
export { StreamNames, SUBJECT_ROOT, Subjects } from './subjects.js';
export {
  decodeSubjectToken,
  encodeSubjectToken,
  isValidSubjectToken,
  SubjectTokenError,
} from './subjectToken.js';
