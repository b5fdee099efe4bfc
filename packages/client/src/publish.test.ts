import { RejectionCode } from '@threadline/protocol';
import { describe, expect, it } from 'vitest';
import { InvalidMessageError } from './errors.js';
import { prepareMessage } from './publish.js';

const chat = {
  id: 'telegram:default:1:1',
  channel: 'telegram',
  chatType: 'direct',
  peer: { kind: 'direct', id: 1 },
  sender: { id: '1' },
  text: 'hi',
  at: 1_776_675_600_000,
};

function refusal(kind: 'chat' | 'reply' | 'control', message: object, maxBytes = 1024): InvalidMessageError {
  try {
    prepareMessage(kind, message, maxBytes);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidMessageError);
    return error as InvalidMessageError;
  }
  throw new Error('expected a refusal');
}

describe('prepareMessage', () => {
  it('fills in v and the type, and reads the event as the worker will', () => {
    const { bytes, event } = prepareMessage('chat', { ...chat, threadId: null, chatType: 'dm' }, 1024);
    const sent = JSON.parse(new TextDecoder().decode(bytes));
    expect(sent).toMatchObject({ v: 1, type: 'chat.message', id: chat.id });
    expect(event).toMatchObject({ v: 1, chatType: 'direct', peer: { id: 1 } });
    expect(event.threadId).toBeUndefined();
  });

  it('names the field and the problem of an invalid message', () => {
    const error = refusal('chat', { ...chat, sender: { id: 42 } });
    expect(error.rejection).toBe(RejectionCode.SchemaViolation);
    expect(error.field).toBe('sender.id');
    expect(error.problem).toBe('expected a string, got 42');
    expect(error.message).toBe(
      'invalid chat message (schema_violation): sender.id: expected a string, got 42',
    );
    expect(error.code).toBe('INVALID_MESSAGE');
    expect(error.retryable).toBe(false);
  });

  it('lists every field at fault', () => {
    const { id: _id, at: _at, ...rest } = chat;
    expect(refusal('chat', rest).issues).toEqual([
      { field: 'id', problem: 'required, but missing' },
      { field: 'at', problem: 'required, but missing' },
    ]);
  });

  it('refuses what the worker would dead-letter for another reason: version, type, size, no JSON', () => {
    expect(refusal('chat', { ...chat, v: 2 })).toMatchObject({
      rejection: RejectionCode.UnknownVersion,
      field: 'v',
    });
    expect(refusal('reply', { ...chat, type: 'chat.message' })).toMatchObject({
      rejection: RejectionCode.UnknownType,
      field: 'type',
    });
    expect(refusal('chat', { ...chat, text: 'x'.repeat(2000) })).toMatchObject({
      rejection: RejectionCode.TooLarge,
      field: '(root)',
    });
    expect(refusal('chat', { ...chat, at: 10n })).toMatchObject({ rejection: RejectionCode.InvalidJson });
    expect(refusal('control', { id: 'x', sessionKey: 'k', at: 1 })).toMatchObject({ field: 'type' });
    expect(refusal('chat', [] as object)).toMatchObject({ rejection: RejectionCode.NotAnObject });
  });
});
