/**
 * What `threadline forget` erases (ADR 0016): who the person is, which session keys are theirs, which
 * shared keys they wrote in, and which stored messages of the five data streams belong to them or to an
 * erased key. One classifier per stream, used by the plan, the erasure and the verification alike.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  CorruptRecordError,
  decodeStoredRecord,
  eraseMessages,
  parseStoredSubject,
  type StoredMessage,
  scanStream,
} from '@threadline/event-log';
import { chatEventV1Schema, decodeBase64, decodeSubjectToken, StreamNames } from '@threadline/protocol';
import { normalizeChannel, normalizePeerId, type ThreadlineConfig } from '@threadline/session-core';
import { sessionKeyOf, type TransitionRecordV1 } from '@threadline/session-worker';
import { usageError } from '../errors.js';
import { isStreamNotFound } from './shared.js';

/** The person to forget: the `--peer` identity and every identity the config links to it. */
export interface Person {
  /** `channel:id` as given, normalised. */
  readonly peer: string;
  /** The `session.identityLinks` name the peer belongs to, if any. */
  readonly canonical: string | null;
  /** `channel:id` and bare ids (a bare id is that id on any channel), lowercased. */
  readonly identities: readonly string[];
}

/** The person `--peer <channel:id>` names, with the identities `session.identityLinks` joins to it. */
export function personOf(peer: string, config: ThreadlineConfig): Person {
  const at = peer.indexOf(':');
  const channel = at > 0 ? normalizeChannel(peer.slice(0, at)) : '';
  const id =
    at > 0
      ? String(peer.slice(at + 1))
          .trim()
          .toLowerCase()
      : '';
  if (!channel || !id)
    throw usageError(
      `--peer needs <channel:id>, got ${JSON.stringify(peer)}`,
      'the channel and the person’s id on it, as adapters send them: --peer telegram:123456789',
    );
  const self = `${channel}:${normalizePeerId(id)}`;
  const identities = new Set([self]);
  let canonical: string | null = null;
  // As session-core resolves links (spec §1.3): names in the map's order, the first whose list holds
  // `id` or `channel:id` wins.
  for (const [name, ids] of Object.entries(config.session.identityLinks ?? {})) {
    const n = name.trim().toLowerCase();
    if (!n || !Array.isArray(ids)) continue;
    const list = ids.map((x) => String(x).trim().toLowerCase()).filter((x) => x !== '');
    if (!list.includes(id) && !list.includes(self)) continue;
    canonical = n;
    for (const entry of list) identities.add(entry);
    break;
  }
  return { peer: self, canonical, identities: [...identities] };
}

/** True when `id` on `channel` is the person (a `channel:id` identity, or a bare id on any channel). */
export function isPerson(person: Person, channel: unknown, id: unknown): boolean {
  if (typeof channel !== 'string' || (typeof id !== 'string' && typeof id !== 'number')) return false;
  const p = String(id).trim().toLowerCase();
  if (!p) return false;
  return person.identities.includes(p) || person.identities.includes(`${normalizeChannel(channel)}:${p}`);
}

/** The person's ids without their channel, as they appear inside stored bodies. */
function bareIds(person: Person): string[] {
  return [...new Set(person.identities.map((e) => (e.includes(':') ? e.slice(e.indexOf(':') + 1) : e)))];
}

/**
 * True for the person's own (direct) keys under any `dmScope` layout, threads included:
 * `agent:<a>:direct:<P>`, `agent:<a>:<C>:direct:<P>`, `agent:<a>:<C>:<account>:direct:<P>` (or legacy
 * `dm`), P one of the person's ids on C (any of their ids under per-peer) or their canonical name.
 */
export function isPersonalKey(person: Person, key: string): boolean {
  const rest = /^agent:[^:]+:(.+)$/.exec(key.toLowerCase())?.[1];
  if (rest === undefined) return false;
  const direct = /^(?:([^:]+):)?(?:([^:]+):)?(?:direct|dm):(.+)$/.exec(rest);
  if (!direct) return false;
  const channel = direct[1];
  const peer = direct[3] as string;
  const thread = peer.indexOf(':thread:');
  for (const p of thread > 0 ? [peer, peer.slice(0, thread)] : [peer]) {
    if (person.canonical !== null && p === person.canonical) return true;
    if (channel === undefined ? bareIds(person).includes(p) : isPerson(person, channel, p)) return true;
  }
  return false;
}

/** What one stored message says: the session keys it belongs to, and whether it is the person's. */
export interface Finding {
  keys: string[];
  person: boolean;
}

/** The data streams forget sweeps (ticks hold no person's data). */
export const FORGET_STREAMS = [
  StreamNames.inbound,
  StreamNames.keyed,
  StreamNames.sessions,
  StreamNames.deadLetters,
  StreamNames.deliveries,
] as const;
export type ForgetStream = (typeof FORGET_STREAMS)[number];

const json = (data: Uint8Array): unknown => {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
};
const obj = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};

/** A chat event (as published, routed or recorded) from or to the person. */
function chatIsPerson(person: Person, event: Record<string, unknown>): boolean {
  const sender = obj(event.sender);
  const peer = obj(event.peer);
  const direct = peer.kind === 'direct' || peer.kind === 'dm';
  return isPerson(person, event.channel, sender.id) || (direct && isPerson(person, event.channel, peer.id));
}

/** The channel and peer of a `tl.in.v1.<C>.<P>` / `tl.out.v1.<C>.<P>` subject, or of its stored form. */
function conversationOf(subject: string): { channel: string; peer: string } | undefined {
  const published = parseStoredSubject(subject)?.published ?? subject;
  const t = published.split('.');
  if (t.length !== 5 || (t[1] !== 'in' && t[1] !== 'out')) return undefined;
  try {
    return { channel: decodeSubjectToken(t[3] as string), peer: decodeSubjectToken(t[4] as string) };
  } catch {
    return undefined;
  }
}

/** The key of a `tl.<family>.v1.<key>` subject (stored or published) or `tl.session.<key>`. */
function keyOfSubject(subject: string): string | undefined {
  const published = parseStoredSubject(subject)?.published ?? subject;
  const t = published.split('.');
  const token =
    t.length === 4 && t[2] === 'v1' ? t[3] : t.length === 3 && t[1] === 'session' ? t[2] : undefined;
  if (token === undefined) return undefined;
  try {
    return decodeSubjectToken(token);
  } catch {
    return undefined;
  }
}

/** Classifies one stored message of `stream`. */
export function classify(
  stream: ForgetStream,
  message: StoredMessage,
  person: Person,
  config: ThreadlineConfig,
): Finding {
  switch (stream) {
    case StreamNames.sessions: {
      let key = keyOfSubject(message.subject);
      let body: Record<string, unknown> = {};
      try {
        const record = decodeStoredRecord<TransitionRecordV1>(message);
        key = record.sessionKey;
        body = obj(record.body);
      } catch (error) {
        if (!(error instanceof CorruptRecordError)) throw error;
      }
      const input = obj(body.input);
      const route = obj(input.route);
      const person_ =
        input.type === 'message.inbound' &&
        (isPerson(person, route.channel, obj(input.sender).id) ||
          (route.chatType === 'direct' && isPerson(person, route.channel, route.to)));
      return { keys: key === undefined ? [] : [key], person: person_ };
    }
    case StreamNames.keyed: {
      const key = keyOfSubject(message.subject);
      const body = obj(json(message.data));
      const routed = body.type === 'chat.routed' && chatIsPerson(person, obj(body.event));
      return { keys: key === undefined ? [] : [key], person: routed };
    }
    case StreamNames.inbound: {
      const conversation = conversationOf(message.subject);
      const event = chatEventV1Schema.safeParse(json(message.data));
      if (!event.success) {
        // Not a valid event (the worker dead-lettered it): the conversation's subject is all we know.
        return {
          keys: [],
          person: conversation !== undefined && isPerson(person, conversation.channel, conversation.peer),
        };
      }
      let key: string | undefined;
      try {
        key = sessionKeyOf(event.data, config);
      } catch {
        key = undefined;
      }
      return {
        keys: key === undefined ? [] : [key],
        person: chatIsPerson(person, event.data as unknown as Record<string, unknown>),
      };
    }
    case StreamNames.deliveries: {
      const body = obj(json(message.data));
      const route = obj(body.route);
      const conversation = conversationOf(message.subject);
      const toPerson =
        (route.chatType === 'direct' && isPerson(person, route.channel, route.to)) ||
        (conversation !== undefined &&
          route.chatType !== 'group' &&
          route.chatType !== 'channel' &&
          isPerson(person, conversation.channel, conversation.peer));
      return { keys: typeof body.sessionKey === 'string' ? [body.sessionKey] : [], person: toPerson };
    }
    case StreamNames.deadLetters: {
      const letter = obj(json(message.data));
      const subject = typeof letter.subject === 'string' ? letter.subject : '';
      const keys: string[] = [];
      const subjectKey = keyOfSubject(subject);
      if (subjectKey !== undefined) keys.push(subjectKey);
      const conversation = conversationOf(subject);
      let person_ = conversation !== undefined && isPerson(person, conversation.channel, conversation.peer);
      let original: Uint8Array | undefined;
      try {
        original =
          typeof letter.originalBase64 === 'string' ? decodeBase64(letter.originalBase64) : undefined;
      } catch {
        original = undefined;
      }
      const parsed = original === undefined ? undefined : json(original);
      if (parsed !== undefined) {
        const body = obj(parsed);
        if (typeof body.sessionKey === 'string') keys.push(body.sessionKey);
        person_ ||= chatIsPerson(person, body);
      } else if (original !== undefined) {
        // Unreadable (cut at the size limit, not JSON): any of the person's ids as a JSON string in it.
        const text = new TextDecoder().decode(original).toLowerCase();
        person_ ||= bareIds(person).some((id) => text.includes(JSON.stringify(id)));
      }
      return { keys, person: person_ };
    }
  }
}

/** What a sweep of the streams found. */
export interface Sweep {
  /** Every session key a message named, and whether one of its messages was the person's. */
  keys: Map<string, { person: boolean }>;
  /** Per stream: messages read, and messages that are the person's or belong to an erased key. */
  streams: Record<ForgetStream, { scanned: number; matched: number; erased: number }>;
}

export interface SweepOptions {
  person: Person;
  config: ThreadlineConfig;
  /** Keys erased whole: their messages match whoever wrote them. Empty while discovering. */
  erased: ReadonlySet<string>;
  /** Erase what matched (secure erase by sequence). */
  erase: boolean;
  onProgress?: (done: number, total: number) => void;
}

/**
 * One pass over the five data streams: every message classified; those that are the person's or belong
 * to an erased key are counted and, with `erase`, erased.
 */
export async function sweepStreams(
  nc: NatsConnection,
  jsm: JetStreamManager,
  options: SweepOptions,
): Promise<Sweep> {
  const sweep: Sweep = {
    keys: new Map(),
    streams: Object.fromEntries(
      FORGET_STREAMS.map((s) => [s, { scanned: 0, matched: 0, erased: 0 }]),
    ) as Sweep['streams'],
  };
  const totals = new Map<ForgetStream, number>();
  let done = 0;
  const report = () =>
    options.onProgress?.(
      done,
      [...totals.values()].reduce((a, b) => a + b, 0),
    );
  for (const stream of FORGET_STREAMS) {
    const tally = sweep.streams[stream];
    const seqs: number[] = [];
    try {
      for await (const message of scanStream(nc, {
        stream,
        onStart: ({ pending }) => {
          totals.set(stream, pending);
          report();
        },
      })) {
        tally.scanned += 1;
        done += 1;
        if (done % 256 === 0) report();
        const finding = classify(stream, message, options.person, options.config);
        for (const key of finding.keys) {
          const known = sweep.keys.get(key);
          if (!known) sweep.keys.set(key, { person: finding.person });
          else if (finding.person) known.person = true;
        }
        if (finding.person || finding.keys.some((k) => options.erased.has(k))) {
          tally.matched += 1;
          seqs.push(message.seq);
        }
      }
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
    if (options.erase && seqs.length > 0) tally.erased = await eraseMessages(jsm, stream, seqs);
  }
  report();
  return sweep;
}

/** The keys a sweep found: the person's own, and the shared ones the person wrote in. */
export function keysOf(person: Person, sweep: Sweep): { personal: string[]; shared: string[] } {
  const personal: string[] = [];
  const shared: string[] = [];
  for (const [key, { person: touched }] of sweep.keys) {
    if (isPersonalKey(person, key)) personal.push(key);
    else if (touched) shared.push(key);
  }
  return { personal: personal.sort(), shared: shared.sort() };
}
