import { describe, expect, it } from 'vitest';
import { issuesOf } from './errors.js';

describe('issuesOf (a validation reason split into fields and problems)', () => {
  it('splits each field from its problem', () => {
    expect(issuesOf('sender.id: expected a string, got 42; at: required, but missing')).toEqual([
      { field: 'sender.id', problem: 'expected a string, got 42' },
      { field: 'at', problem: 'required, but missing' },
    ]);
    expect(issuesOf('meta["a b"]: not an allowed key; toolCallIds[3]: too long: at most 256')).toEqual([
      { field: 'meta["a b"]', problem: 'not an allowed key' },
      { field: 'toolCallIds[3]', problem: 'too long: at most 256' },
    ]);
  });

  it('keeps a "; " inside a quoted value with its own field, and drops the count of the rest', () => {
    expect(
      issuesOf('chatType: expected one of "direct", got "a; b: c"; at: required, but missing; and 2 more'),
    ).toEqual([
      { field: 'chatType', problem: 'expected one of "direct", got "a; b: c"' },
      { field: 'at', problem: 'required, but missing' },
    ]);
  });

  it('names the message itself when the reason has no field', () => {
    expect(issuesOf('300000 bytes, more than the limit of 262144')).toEqual([
      { field: '(root)', problem: '300000 bytes, more than the limit of 262144' },
    ]);
  });
});
