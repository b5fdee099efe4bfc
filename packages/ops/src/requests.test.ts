import { describe, expect, it } from 'vitest';
import { BadRequestError } from './errors.js';
import {
  MAX_LIMIT,
  parseReplayRequest,
  parseRequest,
  parseSessionsListRequest,
  parseSessionsShowRequest,
  parseStatusRequest,
  parseTime,
  parseTimeRange,
} from './requests.js';

/** The BadRequestError `run` throws (fails the test when it throws nothing or something else). */
function refusal(run: () => unknown): BadRequestError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestError);
    return error as BadRequestError;
  }
  throw new Error('expected a BadRequestError');
}

describe('parseRequest', () => {
  it('given an empty body, when parsed, then it is an empty request', () => {
    expect(parseRequest(new Uint8Array(), ['a'])).toEqual({});
    expect(parseRequest('  \n', [])).toEqual({});
  });

  it('given anything but a JSON object, when parsed, then the refusal says what it got', () => {
    expect(refusal(() => parseRequest('{nope', [])).message).toMatch(/^the request is not JSON: /);
    expect(refusal(() => parseRequest('[1]', [])).message).toBe(
      'the request must be a JSON object, got an array',
    );
    expect(refusal(() => parseRequest('42', [])).message).toBe('the request must be a JSON object, got 42');
    expect(refusal(() => parseRequest('null', [])).message).toBe(
      'the request must be a JSON object, got null',
    );
  });

  it('given an unknown key, when parsed, then the refusal names it and the known ones', () => {
    const error = refusal(() => parseRequest('{"limit":1,"limt":2}', ['limit']));
    expect(error.message).toBe('unknown field "limt" (known: limit)');
    expect(error.field).toBe('limt');
    expect(refusal(() => parseStatusRequest('{"verbose":true}')).message).toBe(
      'unknown field "verbose" (this endpoint takes none)',
    );
  });
});

describe('the endpoint requests', () => {
  it('given sessions.list fields, when parsed, then defaults fill the gaps and each bad field is named', () => {
    expect(parseSessionsListRequest('')).toEqual({ activeMinutes: null, limit: 100 });
    expect(parseSessionsListRequest('{"activeMinutes":60,"agentId":"ops","limit":5}')).toEqual({
      activeMinutes: 60,
      agentId: 'ops',
      limit: 5,
    });
    expect(parseSessionsListRequest('{"activeMinutes":null}')).toEqual({ activeMinutes: null, limit: 100 });
    for (const [body, field, message] of [
      ['{"activeMinutes":-5}', 'activeMinutes', 'activeMinutes must be a whole number from 1 up, got -5'],
      ['{"activeMinutes":0}', 'activeMinutes', 'activeMinutes must be a whole number from 1 up, got 0'],
      ['{"activeMinutes":"60"}', 'activeMinutes', 'activeMinutes must be a whole number from 1 up, got "60"'],
      ['{"activeMinutes":1.5}', 'activeMinutes', 'activeMinutes must be a whole number from 1 up, got 1.5'],
      ['{"limit":0}', 'limit', `limit must be a whole number from 1 to ${MAX_LIMIT}, got 0`],
      ['{"limit":1001}', 'limit', `limit must be a whole number from 1 to ${MAX_LIMIT}, got 1001`],
      ['{"agentId":7}', 'agentId', 'agentId must be a non-empty string, got 7'],
      ['{"agentId":""}', 'agentId', 'agentId must be a non-empty string, got ""'],
    ] as const) {
      const error = refusal(() => parseSessionsListRequest(body));
      expect([error.field, error.message], body).toEqual([field, message]);
    }
  });

  it('given sessions.show, when the key is missing or not a string, then it is refused', () => {
    expect(parseSessionsShowRequest('{"sessionKey":"agent:main:main"}')).toEqual({
      sessionKey: 'agent:main:main',
    });
    expect(refusal(() => parseSessionsShowRequest('{}')).message).toBe('sessionKey is required');
    expect(refusal(() => parseSessionsShowRequest('{"sessionKey":["a"]}')).field).toBe('sessionKey');
  });

  it('given replay fields, when parsed, then times take ISO or epoch ms and the cursor and limit are bounded', () => {
    expect(parseReplayRequest('')).toEqual({ limit: 100, afterSeq: 0 });
    expect(
      parseReplayRequest(
        '{"sessionKey":"k","since":"2026-11-24T09:00:00Z","until":1800000000000,"limit":2,"afterSeq":7}',
      ),
    ).toEqual({
      sessionKey: 'k',
      since: Date.UTC(2026, 10, 24, 9),
      until: 1_800_000_000_000,
      limit: 2,
      afterSeq: 7,
    });
    for (const [body, field] of [
      ['{"since":"yesterday"}', 'since'],
      ['{"since":true}', 'since'],
      ['{"until":-1}', 'until'],
      ['{"since":"2026-01-02","until":"2026-01-01"}', 'since'],
      ['{"afterSeq":-1}', 'afterSeq'],
      ['{"limit":"all"}', 'limit'],
    ] as const)
      expect(refusal(() => parseReplayRequest(body)).field, body).toBe(field);
  });
});

describe('parseTime and parseTimeRange', () => {
  it('given the CLI labels, when a time is bad, then the message names the option as typed', () => {
    expect(parseTime('--since', '1700000000000')).toBe(1_700_000_000_000);
    expect(refusal(() => parseTime('--until', '2026-02-30')).message).toBe(
      '--until "2026-02-30" is not a valid date and time',
    );
    expect(
      refusal(() =>
        parseTimeRange({ since: '2026-01-02', until: '2026-01-01' }, { since: '--since', until: '--until' }),
      ).message,
    ).toBe('--since 2026-01-02T00:00:00.000Z is after --until 2026-01-01T00:00:00.000Z');
  });
});
