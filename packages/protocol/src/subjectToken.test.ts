import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeSubjectToken,
  encodeSubjectToken,
  isValidSubjectToken,
  SubjectTokenError,
} from './subjectToken.js';

describe('subject-token encoding', () => {
  it.each([
    ['agent:main:main', 'agent:main:main'],
    ['agent:main:whatsapp:direct:+15551234567', 'agent:main:whatsapp:direct:+15551234567'],
    ['agent:main:whatsapp:group:12036@g.us', 'agent:main:whatsapp:group:12036%40g%2Eus'],
    ['agent:main:matrix:channel:!ops:matrix.example', 'agent:main:matrix:channel:!ops:matrix%2Eexample'],
    ['agent:main:direct:alice smith', 'agent:main:direct:alice%20smith'],
    ['a*b>c', 'a%2Ab%3Ec'],
    ['$JS', '%24JS'],
    ['100%', '100%25'],
    ['ünï', '%C3%BCn%C3%AF'],
    ['', '%'],
  ])('encodes %j as %j', (raw, token) => {
    expect(encodeSubjectToken(raw)).toBe(token);
    expect(isValidSubjectToken(token)).toBe(true);
    expect(decodeSubjectToken(token)).toBe(raw);
  });

  it('round-trips any string into a valid token', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (raw) => {
        const token = encodeSubjectToken(raw);
        expect(isValidSubjectToken(token)).toBe(true);
        expect(token.startsWith('$')).toBe(false);
        expect(decodeSubjectToken(token)).toBe(raw);
      }),
      { numRuns: 2000 },
    );
  });

  it('never maps two different strings to one token', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        fc.pre(a !== b);
        expect(encodeSubjectToken(a)).not.toBe(encodeSubjectToken(b));
      }),
      { numRuns: 2000 },
    );
  });

  it.each(['a.b', 'a b', '%2e', '%G1', '%C3', 'x%'])(
    'rejects %j, which it could not have produced',
    (token) => {
      expect(() => decodeSubjectToken(token)).toThrow(SubjectTokenError);
    },
  );
});
