import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { extractiveSummariser } from './extractive.js';
import { type SummariseRequest, SummariserError, type TranscriptTurn } from './types.js';

function turn(
  id: string,
  role: TranscriptTurn['role'],
  text: string,
  extra: Partial<TranscriptTurn> = {},
): TranscriptTurn {
  return { id, role, text, tokens: 0, at: 0, ...extra };
}

function request(turns: TranscriptTurn[], instructions?: string): SummariseRequest {
  return {
    sessionKey: 'agent:main:chat-1',
    sessionId: 'session-1',
    turns,
    ...(instructions ? { instructions } : {}),
  };
}

const live = () => new AbortController().signal;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('extractiveSummariser', () => {
  it('given a few turns, when summarised, then each is one line with its id, sender and first sentence', async () => {
    const summary = await extractiveSummariser().summarise(
      request([
        turn('m1', 'user', 'Can you book   the\nroom for Friday? We need it at 10.', {
          senderId: 'u-42',
          senderName: 'Ada',
        }),
        turn('r1', 'assistant', 'Booked room 4.2 for Friday at 10:00. Anything else?'),
        turn('m2', 'user', '   ', { senderId: 'u-7' }),
      ]),
      live(),
    );
    expect(summary).toBe(
      [
        'Summary of 3 earlier turns',
        '- [m1] Ada: Can you book the room for Friday?',
        '- [r1] assistant: Booked room 4.2 for Friday at 10:00.',
        '- [m2] u-7: (no text)',
      ].join('\n'),
    );
  });

  it('given a sentence longer than maxCharsPerTurn, when summarised, then it is cut there and ends with an ellipsis', async () => {
    const summary = await extractiveSummariser({ maxCharsPerTurn: 10 }).summarise(
      request([
        turn('m1', 'user', 'abcdefghijklmnop'),
        turn('m2', 'user', 'short one. more'),
        turn('m3', 'user', '😀'.repeat(12)),
      ]),
      live(),
    );
    expect(summary.split('\n').slice(1)).toEqual([
      '- [m1] user: abcdefghij…',
      '- [m2] user: short one.',
      `- [m3] user: ${'😀'.repeat(10)}…`,
    ]);
  });

  it('given a previous extractive summary, when summarised again, then its lines are carried verbatim under one new header', async () => {
    const summariser = extractiveSummariser({ maxCharsPerTurn: 20 });
    const first = await summariser.summarise(
      request([
        turn('m1', 'user', 'The deploy is set for Tuesday at noon sharp.'),
        turn('r1', 'assistant', 'Noted.'),
      ]),
      live(),
    );
    const second = await summariser.summarise(
      request([
        turn('cmp-1', 'summary', first),
        turn('m2', 'user', 'Move it to Wed.'),
        turn('r2', 'assistant', 'Done.'),
      ]),
      live(),
    );
    expect(second).toBe(
      [
        'Summary of 4 earlier turns',
        '- [m1] user: The deploy is set fo…',
        '- [r1] assistant: Noted.',
        '- [m2] user: Move it to Wed.',
        '- [r2] assistant: Done.',
      ].join('\n'),
    );
  });

  it('given a previous summary written by a model, when summarised, then all its lines are carried, not cut, and none is taken for a header', async () => {
    const previous = `The team chose PostgreSQL.\n\n${'Open question: '.padEnd(500, 'x')}`;
    const summary = await extractiveSummariser({ maxCharsPerTurn: 20 }).summarise(
      request([turn('cmp-1', 'summary', previous), turn('m1', 'user', 'Hi.'), turn('m2', 'user', 'Bye.')]),
      live(),
    );
    expect(summary.split('\n')).toEqual([
      'Summary of 2 earlier turns',
      'The team chose PostgreSQL.',
      'Open question: '.padEnd(500, 'x'),
      '- [m1] user: Hi.',
      '- [m2] user: Bye.',
    ]);
  });

  it('given instructions, when summarised, then matching turns keep their full text and the header names the focus', async () => {
    const long = `Intro. The BUDGET is 40k. ${'Detail. '.repeat(20)}`;
    const summary = await extractiveSummariser({ maxCharsPerTurn: 30 }).summarise(
      request(
        [
          turn('m1', 'user', 'Hello there. The weather is nice.'),
          turn('m2', 'user', long),
          turn('m3', 'user', 'Cats are on the agenda. And dogs.'),
        ],
        '  focus on the\nbudget and cats ',
      ),
      live(),
    );
    const lines = summary.split('\n');
    expect(lines[0]).toBe('Summary of 3 earlier turns — focus: focus on the budget and cats');
    // "on", "the", "and" are under four letters and "focus" is a common word: they match nothing.
    expect(lines[1]).toBe('- [m1] user: Hello there.');
    expect(lines[2]).toBe(`- [m2] user: ${long.replace(/\s+/g, ' ').slice(0, 120).trimEnd()}…`);
    expect(lines[3]).toBe('- [m3] user: Cats are on the agenda. And dogs.');
  });

  it('given random turns, when summarised, then every turn id appears and the output is the same every time', async () => {
    const turnArb = fc.record({
      text: fc.string({ unit: 'grapheme', maxLength: 300 }),
      role: fc.constantFrom('user' as const, 'assistant' as const),
      senderName: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(turnArb, { maxLength: 20 }),
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        fc.integer({ min: 1, max: 300 }),
        async (specs, instructions, maxCharsPerTurn) => {
          const turns = specs.map((s, i) =>
            turn(`turn-${i}`, s.role, s.text, s.senderName === undefined ? {} : { senderName: s.senderName }),
          );
          const summariser = extractiveSummariser({ maxCharsPerTurn });
          const summary = await summariser.summarise(request(turns, instructions), live());
          for (const t of turns) expect(summary).toContain(`- [${t.id}] `);
          expect(summary.split('\n')).toHaveLength(turns.length + 1);
          expect(summary.split('\n')[0]).toMatch(new RegExp(`^Summary of ${turns.length} earlier turns?`));
          expect(
            await extractiveSummariser({ maxCharsPerTurn }).summarise(request(turns, instructions), live()),
          ).toBe(summary);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('given the clock and randomness are off limits, when summarised, then it still answers', async () => {
    const forbidden = () => {
      throw new Error('the extractive summariser must not read clocks or randomness');
    };
    vi.spyOn(Date, 'now').mockImplementation(forbidden);
    vi.spyOn(Math, 'random').mockImplementation(forbidden);
    vi.spyOn(performance, 'now').mockImplementation(forbidden);
    await expect(
      extractiveSummariser().summarise(request([turn('m1', 'user', 'Hi.')], 'greetings'), live()),
    ).resolves.toBe('Summary of 1 earlier turn — focus: greetings\n- [m1] user: Hi.');
  });

  it('given an aborted signal, when summarising, then it rejects with code ABORTED', async () => {
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    const attempt = extractiveSummariser().summarise(request([turn('m1', 'user', 'Hi.')]), controller.signal);
    await expect(attempt).rejects.toBeInstanceOf(SummariserError);
    await expect(attempt).rejects.toMatchObject({
      name: 'SummariserError',
      code: 'ABORTED',
      message: 'summariser timed out or was cancelled',
    });
  });

  it('given maxCharsPerTurn that is not a positive integer, when creating it, then it throws a RangeError', () => {
    for (const bad of [0, -5, 2.5, Number.NaN])
      expect(() => extractiveSummariser({ maxCharsPerTurn: bad })).toThrow(RangeError);
  });
});
