import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamNames, Subjects } from './subjects.js';
import { decodeSubjectToken, isValidSubjectToken } from './subjectToken.js';

/** NATS subject matching: `*` matches exactly one token, `>` one or more trailing tokens. */
function matches(pattern: string, subject: string): boolean {
  const want = pattern.split('.');
  const got = subject.split('.');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '>') return got.length > i;
    if (i >= got.length || (want[i] !== '*' && want[i] !== got[i])) return false;
  }
  return want.length === got.length;
}

const KEY = 'agent:main:matrix:channel:!ops:matrix.example:thread:a b*c>d';

describe('subjects', () => {
  it.each([
    ['session', Subjects.session, 'tl.session.'],
    ['reply', Subjects.reply, 'tl.reply.v1.'],
    ['control', Subjects.control, 'tl.ctl.v1.'],
    ['routed', Subjects.routed, 'tl.routed.v1.'],
  ] as const)(
    'puts a session key with subject-special characters into exactly one %s token',
    (_name, build, prefix) => {
      const subject = build(KEY);
      expect(subject.startsWith(prefix)).toBe(true);
      const tokens = subject.split('.');
      expect(tokens).toHaveLength(prefix.split('.').length);
      expect(tokens.every(isValidSubjectToken)).toBe(true);
      expect(decodeSubjectToken(tokens.at(-1) as string)).toBe(KEY);
    },
  );

  it('keeps channel and peer as the last two tokens of an inbound subject', () => {
    const subject = Subjects.inbound('whatsapp', '12036@g.us');
    expect(subject).toBe('tl.in.v1.whatsapp.12036%40g%2Eus');
    expect(subject.split('.')).toHaveLength(5);
  });

  it('builds each family on its own root and version', () => {
    expect(Subjects.reply('agent:main:main')).toBe('tl.reply.v1.agent:main:main');
    expect(Subjects.control('agent:main:main')).toBe('tl.ctl.v1.agent:main:main');
    expect(Subjects.routed('agent:main:main')).toBe('tl.routed.v1.agent:main:main');
    expect(Subjects.session('agent:main:main')).toBe('tl.session.agent:main:main');
    expect(Subjects.deadLetter('schema_violation')).toBe('tl.dlq.schema_violation');
    expect(Subjects.delivery('telegram', '123')).toBe('tl.out.v1.telegram.123');
  });

  it('has exactly these wildcards, none of them `>`', () => {
    expect(Subjects.inboundAll).toBe('tl.in.v1.*.*');
    expect(Subjects.replyAll).toBe('tl.reply.v1.*');
    expect(Subjects.controlAll).toBe('tl.ctl.v1.*');
    expect(Subjects.routedAll).toBe('tl.routed.v1.*');
    expect(Subjects.sessionAll).toBe('tl.session.*');
    expect(Subjects.deadLetterAll).toBe('tl.dlq.*');
    expect(Subjects.deliveryAll).toBe('tl.out.v1.*.*');
  });

  const families = [
    ['inboundAll', Subjects.inboundAll, (s: string) => Subjects.inbound(s, s)],
    ['replyAll', Subjects.replyAll, Subjects.reply],
    ['controlAll', Subjects.controlAll, Subjects.control],
    ['routedAll', Subjects.routedAll, Subjects.routed],
    ['sessionAll', Subjects.sessionAll, Subjects.session],
    ['deadLetterAll', Subjects.deadLetterAll, Subjects.deadLetter],
    ['deliveryAll', Subjects.deliveryAll, (s: string) => Subjects.delivery(s, s)],
  ] as const;

  it('matches every subject of its own family, whatever the values, and no other family', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 12 }), (value) => {
        for (const [name, wildcard] of families) {
          for (const [other, , build] of families) {
            expect(matches(wildcard, build(value)), `${name} vs ${other}`).toBe(name === other);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['tl.in.v1.telegram', Subjects.inboundAll],
    ['tl.in.v1.telegram.1.extra', Subjects.inboundAll],
    ['tl.in.v2.telegram.1', Subjects.inboundAll],
    ['tl.reply.v1.agent.main', Subjects.replyAll],
    ['tl.reply.v1', Subjects.replyAll],
    ['tl.ctl.v1.a.b', Subjects.controlAll],
    ['tl.routed.v1.a.b', Subjects.routedAll],
    ['tl.dlq.schema_violation.extra', Subjects.deadLetterAll],
  ])('does not match the malformed subject %s with %s', (subject, wildcard) => {
    expect(matches(wildcard, subject)).toBe(false);
  });

  it('names the six streams', () => {
    expect(StreamNames).toEqual({
      inbound: 'THREADLINE_INBOUND',
      keyed: 'THREADLINE_KEYED',
      sessions: 'THREADLINE_SESSIONS',
      deadLetters: 'THREADLINE_DEAD_LETTERS',
      deliveries: 'THREADLINE_DELIVERIES',
      ticks: 'THREADLINE_TICKS',
    });
  });

  it('puts a tick on tl.tick.v1.<zone>.<hour>, the zone encoded as one token', () => {
    expect(Subjects.tick('America/New_York', 4)).toBe('tl.tick.v1.America%2FNew_York.4');
    expect(Subjects.tick('Etc/GMT+5', 23)).toBe('tl.tick.v1.Etc%2FGMT+5.23');
    expect(Subjects.tickAll).toBe('tl.tick.v1.*.*');
  });
});
