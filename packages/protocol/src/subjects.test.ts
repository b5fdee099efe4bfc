import { describe, expect, it } from 'vitest';
import { Subjects } from './subjects.js';
import { decodeSubjectToken, isValidSubjectToken } from './subjectToken.js';

describe('subjects', () => {
  it('puts a session key with subject-special characters into exactly one token', () => {
    const key = 'agent:main:matrix:channel:!ops:matrix.example:thread:a b*c>d';
    const subject = Subjects.session(key);
    const tokens = subject.split('.');
    expect(tokens).toHaveLength(3);
    expect(tokens.every(isValidSubjectToken)).toBe(true);
    expect(decodeSubjectToken(tokens[2] as string)).toBe(key);
  });

  it('keeps channel and peer as the last two tokens of an inbound subject', () => {
    const subject = Subjects.inbound('whatsapp', '12036@g.us');
    expect(subject).toBe('tl.in.v1.whatsapp.12036%40g%2Eus');
    expect(subject.split('.')).toHaveLength(5);
  });

  it('matches its own wildcards', () => {
    expect(Subjects.session('agent:main:main').startsWith(Subjects.sessionAll.slice(0, -1))).toBe(true);
    expect(Subjects.reply('agent:main:main').startsWith('tl.reply.')).toBe(true);
  });
});
