/**
 * `threadline replay [<key>] [--since <time>] [--until <time>] [--format jsonl|text]`: the session records
 * of one key (read from its own subject only), or of every key in stream order, bounded by record time.
 * The records come from @threadline/ops (`replayRecords`), as the ops service's replay pages do.
 */
import { type ReplayRecordV1, replayRecords, showTime } from '@threadline/ops';
import type { CliContext } from '../context.js';
import { ExitCodes, usageError } from '../errors.js';
import { optionalKey, parseTimeRange } from './auditSupport.js';
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
    const write = (record: ReplayRecordV1) =>
      ctx.line(format === 'jsonl' ? JSON.stringify(record) : textLine(record));

    if (key !== undefined) {
      for await (const record of replayRecords(nc, { ...range, sessionKey: key })) write(record);
      return ExitCodes.Ok;
    }

    const progress = ctx.progress('replaying');
    let unreadable = 0;
    try {
      for await (const record of replayRecords(nc, {
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

/** `#<seq> <ISO time> <key> <input type> → <fact types>`, `-` for what the body does not say. */
function textLine(r: ReplayRecordV1): string {
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
