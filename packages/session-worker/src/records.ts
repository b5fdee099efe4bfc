/**
 * What the worker writes: the routed chat event (keyed stream, `tl.routed.v1.<key>`) and the transition
 * record (session stream, `tl.session.<key>`). Both are internal formats, versioned like the public ones
 * so that a reader can tell old from new.
 */
import { type ChatEventV1, chatEventV1Schema, MAX_SESSION_KEY_LENGTH } from '@threadline/protocol';
import type { Decision, SessionInput } from '@threadline/session-core';
import * as z from 'zod';
import type { RecordedDelivery } from './deliveries.js';

/** A chat event after the router resolved its session key: the body of `tl.routed.v1.<sessionKey>`. */
export interface RoutedChatV1 {
  v: 1;
  type: 'chat.routed';
  sessionKey: string;
  /** The chat event as validated (unknown fields dropped, optional fields absent). */
  event: ChatEventV1;
  /** Where the event is in the inbound stream (for audits: from session record back to the original). */
  inboundSeq: number;
}

export const routedChatV1Schema = z.object({
  v: z.literal(1),
  type: z.literal('chat.routed'),
  sessionKey: z.string().min(1).max(MAX_SESSION_KEY_LENGTH),
  event: chatEventV1Schema,
  inboundSeq: z.number().int().min(1),
});

/** Where a recorded input was read from: the keyed stream's sequence, exact per partition. */
export interface RecordSource {
  stream: string;
  seq: number;
}

/**
 * One transition of one session key: the input that caused it and everything the decision produced, as
 * one message (so no half transition can ever be stored). The durable timer records are `timers`: armed
 * and dropped in the very record of the transition that decided them.
 */
export interface TransitionRecordV1 {
  v: 1;
  /** The input's id, unique per input across all keys: `chat:<id>`, `reply:<id>`, `ctl:<id>`. */
  inputId: string;
  source: RecordSource | null;
  /** Exactly what `decide` was given: a replay feeds it back and must get `facts` again. */
  input: SessionInput;
  facts: Decision['facts'];
  timers: Decision['timers'];
  answers: Decision['answers'];
  compactions: Decision['compactions'];
  /** The session machine version that decided it. */
  machineVersion: number;
  /**
   * What the transition sends to the chat — the agent reply, the command answers — each with the send
   * policy's verdict; only the `allowed` ones are published. Absent when there is nothing to send.
   */
  deliveries?: RecordedDelivery[];
}

export const TRANSITION_RECORD_SCHEMA_VERSION = 1;
