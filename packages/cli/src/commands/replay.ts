/**
 * `threadline replay [<key>] [--since <time>] [--until <time>] [--format jsonl|text]`: the session records
 * of one key (read from its own subject only), or of every key in stream order, bounded by record time.
 */
import {
  CorruptRecordError,
  NatsSessionLog,
  replayAll,
  replaySession,
  type SessionRecord,
} from '@threadline/event-log';
import type { CliContext } from '../context.js';
import { ExitCodes, notFound, usageError } from '../errors.js';
import { optionalKey, parseTimeRange, showTime, storeError } from './auditSupport.js';
import type { Command } from './command.js';

const USAGE = '[<key>] [--since <time>] [--until <time>] [--format jsonl|text]';
const FORMATS = ['jsonl', 'text'] as const;
type Format = (typeof FORMATS)[number];

export const replayCommand: Command = {
  path: ['replay'],
  summary: 'replay the session records of one key, or of every key in stream order, by record time',
  usage: USAGE,
  options: {
    since: { type: 'string' },
    until: { type: 'string' },
    format: { type: 'string' },
  },
  async run(ctx, { positionals, values }) {
    const key = optionalKey(positionals, `threadline replay ${USAGE}`);
    const range = parseTimeRange(values);
    const format = formatOf(ctx, values.format);
    const nc = await ctx.connect();
    const write = (record: SessionRecord) =>
      ctx.line(format === 'jsonl' ? jsonLine(record) : textLine(record));

    if (key !== undefined) {
      try {
        if (!(await exists(new NatsSessionLog(nc), key)))
          throw notFound(
            `no records for session key ${JSON.stringify(key)}`,
            'threadline replay without a key lists every session',
          );
        for await (const record of replaySession(nc, key, range)) write(record);
      } catch (error) {
        throw storeError(error, key);
      }
      return ExitCodes.Ok;
    }

    const progress = ctx.progress('replaying');
    let unreadable = 0;
    try {
      for await (const record of replayAll(nc, {
        ...range,
        // From the first record on: a count of 0 says nothing, and a log reader sees it as the only line.
        onProgress: (done, total) => {
          if (done > 0) progress.update(done, total);
        },
        onUnreadable: (error) => {
          unreadable += 1;
          ctx.io.err(`threadline: skipped ${error.message}\n`);
        },
      }))
        write(record);
    } catch (error) {
      throw storeError(error);
    } finally {
      progress.end();
    }
    if (unreadable === 0) return ExitCodes.Ok;
    ctx.io.err(
      `threadline: ${unreadable} stored message(s) could not be read and were skipped; threadline audit verify lists them\n`,
    );
    return ExitCodes.Findings;
  },
};

function formatOf(ctx: CliContext, value: unknown): Format {
  if (value === undefined) return ctx.json ? 'jsonl' : 'text';
  if (!FORMATS.includes(value as Format))
    throw usageError(`--format ${JSON.stringify(value)} is not one of ${FORMATS.join(', ')}`);
  if (ctx.json && value !== 'jsonl')
    throw usageError(`--json writes JSONL; it cannot be combined with --format ${value}`);
  return value as Format;
}

/** A key with at least one stored message (readable or not). */
async function exists(log: NatsSessionLog, key: string): Promise<boolean> {
  try {
    return (await log.head(key)).seq > 0;
  } catch (error) {
    // The key's last message is there but is not a record: the key exists; the replay reports it.
    if (error instanceof CorruptRecordError) return true;
    throw error;
  }
}

/** One record per line: `{seq, sessionKey, at, id, hash, prevHash, body}`. */
function jsonLine(r: SessionRecord): string {
  const { seq, sessionKey, at, id, hash, prevHash, body } = r;
  return JSON.stringify({ seq, sessionKey, at, id, hash, prevHash, body });
}

/** `#<seq> <ISO time> <key> <input type> → <fact types>`, `-` for what the body does not say. */
function textLine(r: SessionRecord): string {
  const body = (typeof r.body === 'object' && r.body !== null ? r.body : {}) as {
    input?: { type?: unknown };
    facts?: unknown;
  };
  const input = typeof body.input?.type === 'string' ? body.input.type : '-';
  const facts = Array.isArray(body.facts)
    ? body.facts
        .map((f: unknown) =>
          typeof f === 'object' && f !== null && typeof (f as { type?: unknown }).type === 'string'
            ? (f as { type: string }).type
            : '?',
        )
        .join(', ')
    : '';
  return `#${r.seq} ${showTime(r.at)} ${r.sessionKey} ${input} → ${facts || '-'}`;
}
