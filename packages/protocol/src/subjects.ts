/**
 * Threadline's NATS subject namespace, in one place. Every value that becomes a token is encoded with
 * {@link encodeSubjectToken}, so session keys with `.`, `*`, `>` or spaces are safe.
 *
 *   tl.in.v1.<channel>.<peer>          chat events from channel adapters      (stream THREADLINE_INBOUND)
 *   tl.reply.v1.<sessionKey>           agent replies for a session            (stream THREADLINE_INBOUND)
 *   tl.session.<sessionKey>            one session key's event log            (stream THREADLINE_SESSIONS)
 *   tl.dlq.<reason>                    rejected input with its reason         (stream THREADLINE_DEAD_LETTERS)
 *
 * The inbound subject carries the channel and the peer (the conversation) so that the stream can be
 * partitioned by conversation and the messages of one conversation stay in order; the body is the
 * authority for everything else (docs/protocol.md).
 */
import { encodeSubjectToken } from './subjectToken.js';

export const SUBJECT_ROOT = 'tl';

export const Subjects = {
  /** Where adapters publish chat events: `tl.in.v1.<channel>.<peer>`. */
  inbound: (channel: string, peer: string) =>
    `${SUBJECT_ROOT}.in.v1.${encodeSubjectToken(channel)}.${encodeSubjectToken(peer)}`,
  /** Every chat event version and conversation. */
  inboundAll: `${SUBJECT_ROOT}.in.>`,
  /** Where agents publish replies: `tl.reply.v1.<sessionKey>`. */
  reply: (sessionKey: string) => `${SUBJECT_ROOT}.reply.v1.${encodeSubjectToken(sessionKey)}`,
  replyAll: `${SUBJECT_ROOT}.reply.>`,
  /** One session key's log: `tl.session.<sessionKey>`. */
  session: (sessionKey: string) => `${SUBJECT_ROOT}.session.${encodeSubjectToken(sessionKey)}`,
  sessionAll: `${SUBJECT_ROOT}.session.*`,
  /** Rejected input: `tl.dlq.<reason>`. */
  deadLetter: (reason: string) => `${SUBJECT_ROOT}.dlq.${encodeSubjectToken(reason)}`,
  deadLetterAll: `${SUBJECT_ROOT}.dlq.>`,
} as const;

export const StreamNames = {
  inbound: 'THREADLINE_INBOUND',
  sessions: 'THREADLINE_SESSIONS',
  deadLetters: 'THREADLINE_DEAD_LETTERS',
} as const;
