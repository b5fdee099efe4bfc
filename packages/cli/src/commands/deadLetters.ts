/**
 * `threadline dead-letters list [--limit <n>]` and `threadline dead-letters replay <seq> [--file <path>]`:
 * the messages the worker refused (stream THREADLINE_DEAD_LETTERS, one {@link DeadLetterV1} each, with
 * the original bytes), newest first; and putting one back — its original bytes, or fixed bytes from a
 * file — on the subject a publisher uses for it, under a fresh message id, so that the worker reads it
 * again as new input.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { jetstream } from '@nats-io/jetstream';
import { parseStoredSubject } from '@threadline/event-log';
import {
  DEFAULT_MAX_INBOUND_BYTES,
  type DeadLetterV1,
  deadLetterV1Schema,
  decodeBase64,
  decodeUtf8,
  type InboundKind,
  inboundSubjectFor,
  StreamNames,
  Subjects,
  validateInbound,
} from '@threadline/protocol';
import { CliError, ExitCodes, notFound, usageError } from '../errors.js';
import type { Command } from './command.js';
import { formatTime, manager, oneLine, positiveInteger, streamInfo, table } from './shared.js';

const DEFAULT_LIMIT = 20;

export interface DeadLetterRow {
  /** The dead letter's sequence in THREADLINE_DEAD_LETTERS: what `replay` takes. */
  seq: number;
  /** When the stream stored it. */
  storedAt: number;
  /** The letter; null when the message is not a dead letter this build can read (`problem` says why). */
  letter: DeadLetterV1 | null;
  /** The subject a publisher uses for the refused message (the stored subject without its partition). */
  publishedSubject: string | null;
  problem?: string;
}

export interface DeadLetterListV1 {
  count: number;
  /** Dead letters in the stream. */
  totalCount: number;
  limitApplied: number;
  hasMore: boolean;
  deadLetters: DeadLetterRow[];
}

/** The subject a message refused on `stored` was published on (the partition token removed). */
function publishedSubjectOf(stored: string): string {
  return parseStoredSubject(stored)?.published ?? stored;
}

/** What kind of input a publisher sends on `subject`, or undefined for subjects publishers do not use. */
function kindOf(subject: string): InboundKind | undefined {
  const family = subject.split('.')[1];
  return family === 'in' ? 'chat' : family === 'reply' ? 'reply' : family === 'ctl' ? 'control' : undefined;
}

const preview = (letter: DeadLetterV1, max: number): string => {
  const bytes = decodeBase64(letter.originalBase64);
  if (!bytes) return '(unreadable base64)';
  const text = decodeUtf8(bytes);
  return text.ok ? oneLine(text.text, max) : `(${bytes.length} bytes, not UTF-8)`;
};

export const deadLettersListCommand: Command = {
  path: ['dead-letters', 'list'],
  summary: 'messages the worker refused, newest first, with why (exit 1 when there are any)',
  usage: '[--limit <n>]',
  options: { limit: { type: 'string' } },
  async run(ctx, { positionals, values }) {
    if (positionals.length > 0) throw usageError(`unexpected argument: ${positionals.join(' ')}`);
    const limit = values.limit === undefined ? DEFAULT_LIMIT : positiveInteger('--limit', values.limit);
    const jsm = await manager(await ctx.connect());
    const info = await streamInfo(jsm, StreamNames.deadLetters);
    const rows: DeadLetterRow[] = [];
    if (info && info.state.messages > 0)
      for (let seq = info.state.last_seq; seq >= info.state.first_seq && rows.length < limit; seq--) {
        const m = await jsm.streams.getMessage(StreamNames.deadLetters, { seq });
        if (!m) continue; // deleted
        const row: DeadLetterRow = { seq, storedAt: m.time.getTime(), letter: null, publishedSubject: null };
        try {
          const parsed = deadLetterV1Schema.safeParse(m.json());
          if (parsed.success) {
            row.letter = parsed.data;
            row.publishedSubject = publishedSubjectOf(parsed.data.subject);
          } else row.problem = 'not a dead letter (does not match the dead-letter schema)';
        } catch {
          row.problem = 'not a dead letter (not JSON)';
        }
        rows.push(row);
      }
    const total = info?.state.messages ?? 0;
    const result: DeadLetterListV1 = {
      count: rows.length,
      totalCount: total,
      limitApplied: limit,
      hasMore: rows.length < total,
      deadLetters: rows,
    };
    ctx.result(result, () => {
      if (!info) return [`no dead letters (the stream ${StreamNames.deadLetters} does not exist yet)`];
      if (rows.length === 0) return ['no dead letters'];
      return [
        `${total} dead letter${total === 1 ? '' : 's'}${result.hasMore ? `, the ${rows.length} newest` : ''} (threadline dead-letters replay <seq> [--file <path>] puts one back)`,
        ...table(
          ['SEQ', 'RECEIVED', 'CODE', 'SUBJECT', 'REASON', 'ORIGINAL'],
          rows.map((r) =>
            r.letter
              ? [
                  String(r.seq),
                  formatTime(r.letter.receivedAt),
                  r.letter.code,
                  r.publishedSubject ?? r.letter.subject,
                  oneLine(r.letter.reason, 80),
                  `${preview(r.letter, 60)}${r.letter.truncated ? ` (truncated, ${r.letter.originalSize} bytes)` : ''}`,
                ]
              : [String(r.seq), formatTime(r.storedAt), '?', '-', r.problem ?? '', ''],
          ),
        ),
      ];
    });
    return rows.length > 0 ? ExitCodes.Findings : ExitCodes.Ok;
  },
};

export interface ReplayV1 {
  /** The dead letter replayed. */
  seq: number;
  code: string;
  /** Where the message was refused (stored subject), and where it was published now. */
  refusedOn: string;
  subject: string;
  /** `dead letter` (its original bytes) or the file the fixed bytes came from. */
  source: string;
  bytes: number;
  msgId: string;
  stream: string;
  streamSeq: number;
}

export const deadLettersReplayCommand: Command = {
  path: ['dead-letters', 'replay'],
  summary: "re-publish a dead letter's original (or fixed, --file) bytes to its subject with a fresh id",
  usage: '<seq> [--file <path>]',
  options: { file: { type: 'string' } },
  async run(ctx, { positionals, values }) {
    const [seqText, ...extra] = positionals;
    if (seqText === undefined)
      throw usageError(
        'dead-letters replay needs the sequence of a dead letter',
        'threadline dead-letters list shows them',
      );
    if (extra.length > 0) throw usageError(`unexpected argument: ${extra.join(' ')}`);
    const seq = positiveInteger('<seq>', seqText);
    const file = values.file as string | undefined;
    let fixed: Uint8Array | undefined;
    if (file !== undefined) {
      try {
        fixed = new Uint8Array(await readFile(file));
      } catch (error) {
        throw usageError(`cannot read --file ${file}: ${(error as Error).message}`);
      }
    }

    const nc = await ctx.connect();
    const jsm = await manager(nc);
    const info = await streamInfo(jsm, StreamNames.deadLetters);
    const stored = info ? await jsm.streams.getMessage(StreamNames.deadLetters, { seq }) : null;
    if (!stored)
      throw notFound(
        `no dead letter at seq ${seq} in ${StreamNames.deadLetters}${info ? '' : ' (the stream does not exist)'}`,
        'threadline dead-letters list shows the sequences',
      );
    let letter: DeadLetterV1;
    try {
      const parsed = deadLetterV1Schema.safeParse(stored.json());
      if (!parsed.success) throw new Error('schema');
      letter = parsed.data;
    } catch {
      throw new CliError(
        ExitCodes.Failed,
        `message ${seq} of ${StreamNames.deadLetters} is not a dead letter`,
      );
    }
    let bytes: Uint8Array;
    if (fixed) bytes = fixed;
    else {
      const original = decodeBase64(letter.originalBase64);
      if (!original)
        throw new CliError(
          ExitCodes.Failed,
          `dead letter ${seq} holds unreadable base64`,
          'pass the message with --file <path>',
        );
      if (letter.truncated)
        throw new CliError(
          ExitCodes.Failed,
          `dead letter ${seq} holds only the first ${original.length} of the original's ${letter.originalSize} bytes`,
          'pass the whole (fixed) message with --file <path>',
        );
      bytes = original;
    }

    const refusedOn = publishedSubjectOf(letter.subject);
    const kind = kindOf(refusedOn);
    if (kind === undefined)
      throw new CliError(
        ExitCodes.Failed,
        `dead letter ${seq} was refused on ${letter.subject}, which no publisher uses; it cannot be replayed`,
        'a refused routed message: publish the fixed chat event on its inbound subject yourself',
      );
    // The worker would refuse it again for the same reason: say so now instead of making another dead letter.
    const verdict = validateInbound(bytes, { maxBytes: DEFAULT_MAX_INBOUND_BYTES, kind });
    if (!verdict.ok) {
      const why = `${verdict.code}: ${verdict.reason}`;
      if (fixed) throw usageError(`--file ${file} would be dead-lettered again (${why})`);
      throw new CliError(
        ExitCodes.Failed,
        `dead letter ${seq} would be dead-lettered again unchanged (${why})`,
        'fix the message and replay it with --file <path>',
      );
    }
    // The subject the body belongs on: for a reply or control event the key decides the partition, so a
    // fixed key must go to its own subject; a chat event goes to its conversation's.
    const event = verdict.event;
    const subject =
      event.type === 'chat.message'
        ? inboundSubjectFor(event)
        : event.type === 'agent.reply'
          ? Subjects.reply(event.sessionKey)
          : Subjects.control(event.sessionKey);
    const msgId = `ops:replay:${seq}:${randomUUID()}`;
    const ack = await jetstream(nc).publish(subject, bytes, { msgID: msgId });
    const result: ReplayV1 = {
      seq,
      code: letter.code,
      refusedOn: letter.subject,
      subject,
      source: file ?? 'dead letter',
      bytes: bytes.length,
      msgId,
      stream: ack.stream,
      streamSeq: ack.seq,
    };
    ctx.result(result, () => [
      `replayed dead letter ${seq} (${letter.code}): ${bytes.length} bytes from ${file ?? 'the dead letter'} to ${subject}`,
      `  ${ack.stream} seq ${ack.seq}, message id ${msgId}${refusedOn === subject ? '' : ` (it was refused on ${refusedOn})`}`,
      '  the worker reads it as new input; the dead letter stays where it is',
    ]);
    return ExitCodes.Ok;
  },
};
