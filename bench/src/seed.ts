/**
 * Session histories written straight into `THREADLINE_SESSIONS`, for the benchmarks that read the session
 * log (audit, replay, rebuild): millions of records through the whole pipeline would take hours on a small
 * machine, so the records are made here and appended as fast as the server takes them.
 *
 * Every record is a real transition record. {@link SessionHistory} decides a conversation turn by turn as
 * the worker does: each input built as the worker builds it (a routed chat message as `chatInput` does, an
 * agent reply as `replyInput` does, with the reply's delivery recorded as `deliveriesOf` does), its facts,
 * timers and snapshot from the session core's own `decide`. It is stored as `NatsSessionLog.append` stores
 * it: canonical JSON body, hash chained to the key's previous record ({@link recordHash}), the same
 * headers (`Nats-Msg-Id`, `Tl-Schema-Version`, `Tl-At`, `Tl-Prev-Hash`, `Tl-Hash`, `Tl-Prev-Seq`,
 * correlation, causation, `traceparent`) and the same fenced publish (`expect.lastSubjectSequence`).
 *
 * Deciding costs about 100 µs a record here, too slow for ten million of them, so the conversations are
 * written from a template ({@link HistoryTemplate}): one history decided once, then, for each key, its
 * canonical texts with the key's own values put in — the peer (fixed width, so lengths and token counts
 * stay equal), the session ids derived from the key, the source positions. Nothing the machine decides
 * depends on those values other than by copying them, and that is checked, not assumed: every
 * `verifyEvery`-th key (and each batch's first) is decided for real, compared byte for byte with its
 * templated records, and written with the worker's writer itself (`NatsSessionLog.append`), whose hash
 * must equal the template's. A seeded log passes `threadline audit verify`, and the projector — which
 * decides every recorded input again — folds it without a divergence (the rebuild benchmark checks both).
 *
 * What is synthetic: the texts and ids, the keyed-stream positions the records name as their source (no
 * keyed stream holds these inputs), and the times — every conversation runs at the same times, from a fixed
 * epoch, so two runs write the same bodies.
 *
 * The worker's input builders live in `@threadline/session-worker`, which the bench does not depend on;
 * {@link SessionHistory} mirrors them on the session core's pure functions (the ones they call).
 *
 * Keys are written `window` at a time, each key's records one after another (a record's `Tl-Prev-Seq` and
 * fence are its predecessor's acknowledged sequence): `window` appends are in flight, and the histories of
 * `window` keys interleave in the stream as busy conversations do.
 */
import { createHash } from 'node:crypto';
import { PubHeaders } from '@nats-io/jetstream';
import { createInbox, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import {
  canonicalJson,
  GENESIS_HASH,
  NatsSessionLog,
  RecordHeaders,
  recordHash,
} from '@threadline/event-log';
import { StreamNames, Subjects } from '@threadline/protocol';
import {
  type Decision,
  type DeliveryVerdict,
  decide,
  initialSessionSnapshot,
  type MessageRoute,
  parseConfigText,
  resolveLifecycleRules,
  resolveSessionKey,
  SESSION_MACHINE_VERSION,
  type SessionInput,
  type SessionSnapshot,
  sendPolicyOf,
  type ThreadlineConfig,
} from '@threadline/session-core';
import { perSecond } from './figures.js';
import { inFlightWindow } from './raw.js';
import { BENCH_CONFIG } from './stack.js';

/** The schema version the worker stamps on transition records (`TRANSITION_RECORD_SCHEMA_VERSION`). */
export const TRANSITION_SCHEMA_VERSION = 1;

/** 2025-01-06T09:00:00Z: seeded times start here, so bodies do not depend on when the run started. */
export const SEED_EPOCH = Date.UTC(2025, 0, 6, 9, 0, 0);

/** Between two turns of one conversation: well inside the quiet period, so no timer would fire between. */
const TURN_GAP_MS = 20_000;

/** The most records one seeded key can have (its source positions are `index × this + turn + 1`). */
export const MAX_RECORDS_PER_KEY = 1000;

/** The body of a transition record, as the worker's `TransitionRecordV1` has it. */
export interface TransitionBody {
  v: 1;
  inputId: string;
  source: { stream: string; seq: number } | null;
  input: SessionInput;
  facts: Decision['facts'];
  timers: Decision['timers'];
  answers: Decision['answers'];
  compactions: Decision['compactions'];
  machineVersion: number;
  deliveries?: unknown[];
}

/** One record ready to append: what the worker hands `SessionLog.append`, less the chain position. */
export interface SeedRecord {
  readonly id: string;
  readonly at: number;
  readonly correlationId: string;
  readonly causationId: string;
  readonly body: TransitionBody;
}

/** The `i`-th seeded conversation's peer (a Telegram DM); fixed width, so every key's texts are as long. */
export const seedPeerOf = (i: number) => `seed${String(i).padStart(9, '0')}`;

/** The bench config the seeded histories are decided under (one session per peer, no reset in a run). */
export function seedConfig(): ThreadlineConfig {
  return parseConfigText(BENCH_CONFIG).config;
}

/** The session key of seeded conversation `i`, as the router resolves a Telegram DM under `config`. */
export function seedSessionKeyOf(i: number, config: ThreadlineConfig): string {
  return resolveSessionKey(
    {
      channel: 'telegram',
      accountId: null,
      peer: { kind: 'direct', id: seedPeerOf(i) },
      threadId: null,
      parentPeer: null,
      explicitKey: null,
    },
    config.session,
  );
}

/** The `id`s of turn `turn` of a conversation with `peer`: the chat message's and the agent reply's. */
const chatIdOf = (peer: string, turn: number) => `tg:${peer}:${turn}`;
const replyIdOf = (peer: string, turn: number) => `ag:${peer}:${turn}`;

/**
 * One conversation, decided turn by turn: even turns are the person's messages, odd turns the agent's
 * replies to them. Pure.
 */
export class SessionHistory {
  readonly peer: string;
  readonly sessionKey: string;
  #snapshot: SessionSnapshot = initialSessionSnapshot();
  #turn = 0;

  constructor(
    readonly index: number,
    private readonly config: ThreadlineConfig,
    private readonly textBytes = 120,
  ) {
    this.peer = seedPeerOf(index);
    this.sessionKey = seedSessionKeyOf(index, config);
  }

  /** The next record; the key's snapshot moves on as if it had been appended. */
  next(): SeedRecord {
    const turn = this.#turn++;
    if (turn >= MAX_RECORDS_PER_KEY)
      throw new RangeError(`a seeded key has at most ${MAX_RECORDS_PER_KEY} records`);
    const at = SEED_EPOCH + turn * TURN_GAP_MS;
    const item = turn % 2 === 0 ? this.#chat(turn, at) : this.#reply(turn, at);
    const decision = decide(this.#snapshot, item.input);
    const body: TransitionBody = {
      v: 1,
      inputId: item.inputId,
      source: { stream: StreamNames.keyed, seq: this.index * MAX_RECORDS_PER_KEY + turn + 1 },
      input: item.input,
      facts: decision.facts,
      timers: decision.timers,
      answers: decision.answers,
      compactions: decision.compactions,
      machineVersion: SESSION_MACHINE_VERSION,
    };
    const deliveries = this.#deliveries(body, decision.snapshot);
    if (deliveries.length > 0) body.deliveries = deliveries;
    this.#snapshot = decision.snapshot;
    return { id: item.inputId, at, correlationId: item.correlationId, causationId: item.inputId, body };
  }

  #text(prefix: string, bytes: number): string {
    return `${prefix} ${'lorem ipsum dolor sit amet '.repeat(Math.ceil(bytes / 27))}`.slice(
      0,
      Math.max(bytes, prefix.length),
    );
  }

  /** As `chatInput` (session-worker) builds a routed Telegram DM from an authorized sender. */
  #chat(turn: number, at: number) {
    const id = chatIdOf(this.peer, turn);
    const inputId = `chat:${id}`;
    const text = this.#text(`message ${turn} from ${this.peer}:`, this.textBytes);
    const input: SessionInput = {
      type: 'message.inbound',
      messageId: id,
      at,
      text,
      sender: { id: this.peer, owner: false, authorized: true },
      tokens: Math.ceil(text.length / 4),
      // An authorized sender's text is parsed for a command; these texts hold none.
      command: null,
      rules: resolveLifecycleRules(this.config, {
        sessionKey: this.sessionKey,
        channel: 'telegram',
        threadId: null,
        parentPeer: null,
        chatType: 'direct',
        hostTimeZone: 'UTC',
      }),
      newSessionId: newSessionIdOf(this.sessionKey, inputId),
      route: { channel: 'telegram', to: this.peer, chatType: 'direct' },
    };
    return { inputId, correlationId: id, input };
  }

  /** As `replyInput` (session-worker) builds an agent's reply, gated by the send policy on the current snapshot. */
  #reply(turn: number, at: number) {
    const id = replyIdOf(this.peer, turn);
    const inputId = `reply:${id}`;
    const inReplyTo = chatIdOf(this.peer, turn - 1);
    const text = this.#text(`reply ${turn} to ${this.peer}:`, this.textBytes * 2);
    const explained = sendPolicyOf(this.sessionKey, this.#snapshot, this.config);
    const delivery: DeliveryVerdict = {
      decision: explained.decision,
      source: explained.source,
      ...(explained.rule === undefined ? {} : { rule: explained.rule }),
    };
    const input: SessionInput = {
      type: 'reply.outbound',
      replyId: id,
      at,
      text,
      tokens: Math.ceil(text.length / 4),
      inReplyTo,
      delivery,
    };
    return { inputId, correlationId: inReplyTo, input };
  }

  /** As `deliveriesOf` (session-worker) records a reply's delivery; command answers never occur here. */
  #deliveries(body: TransitionBody, after: SessionSnapshot): unknown[] {
    const input = body.input;
    if (input.type !== 'reply.outbound') return [];
    const route = routeOf(after.context.lastRoute ?? after.context.origin);
    const verdict = input.delivery ?? { decision: 'allow', source: 'unconfigured' };
    const status = route === undefined ? 'no-route' : verdict.decision === 'deny' ? 'blocked' : 'allowed';
    const sessionId = after.context.sessionId;
    return [
      {
        status,
        verdict,
        delivery: {
          v: 1,
          type: 'delivery',
          id: `${body.inputId}:0`,
          sessionKey: this.sessionKey,
          kind: 'reply',
          ...(sessionId === null ? {} : { sessionId }),
          replyId: input.replyId,
          ...(input.inReplyTo === undefined ? {} : { inReplyTo: input.inReplyTo }),
          text: input.text,
          at: input.at,
          ...(route === undefined ? {} : { route }),
        },
      },
    ];
  }
}

function routeOf(route: MessageRoute | null) {
  if (route === null) return undefined;
  const chatType = route.chatType === 'group' || route.chatType === 'channel' ? route.chatType : 'direct';
  return {
    channel: route.channel,
    to: route.to,
    chatType,
    ...(route.accountId === undefined ? {} : { accountId: route.accountId }),
    ...(route.threadId === undefined ? {} : { threadId: route.threadId }),
  };
}

/** The id a session started by input `inputId` gets: the worker's `deterministicUuid(key + '\n' + inputId)`. */
function newSessionIdOf(sessionKey: string, inputId: string): string {
  const hex = createHash('sha256').update(`${sessionKey}\n${inputId}`).digest('hex');
  const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The hashed content of a record, as {@link recordHash} writes it before hashing. */
function contentOf(sessionKey: string, record: SeedRecord): string {
  const { id, at, correlationId, causationId, body } = record;
  return canonicalJson({
    sessionKey,
    id,
    at,
    schemaVersion: TRANSITION_SCHEMA_VERSION,
    correlationId,
    causationId,
    body,
  });
}

/** A record of key `index` as stored: body text, hash, and what goes in its headers. */
export interface StoredSeedRecord {
  readonly id: string;
  readonly at: number;
  readonly correlationId: string;
  readonly causationId: string;
  /** The canonical JSON body, exactly as `NatsSessionLog.append` publishes it. */
  readonly bodyJson: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** A text with holes: literal parts, and between them the number of the value that goes there. */
interface Pattern {
  readonly parts: readonly string[];
  readonly holes: readonly number[];
}

interface TurnPattern {
  readonly id: Pattern;
  readonly correlationId: Pattern;
  readonly body: Pattern;
  readonly content: Pattern;
  readonly at: number;
}

/**
 * The first `turns` records of one conversation, decided once, as patterns that give any key's records by
 * filling in its values: its peer, the session id of each chat turn, its source positions.
 */
export class HistoryTemplate {
  readonly #config: ThreadlineConfig;
  readonly #textBytes: number;
  readonly #turns: TurnPattern[] = [];

  constructor(turns: number, config: ThreadlineConfig = seedConfig(), textBytes = 120) {
    this.#config = config;
    this.#textBytes = textBytes;
    // The template conversation: key 0's, with source positions far from any other number in a body.
    const history = new SessionHistory(0, config, textBytes);
    const values = this.#valuesOf(0, turns, (turn) => sourceMarker(turn));
    for (let turn = 0; turn < turns; turn++) {
      const record = history.next();
      (record.body.source as { seq: number }).seq = sourceMarker(turn);
      this.#turns.push({
        id: patternOf(record.id, values),
        correlationId: patternOf(record.correlationId, values),
        body: patternOf(canonicalJson(record.body), values),
        content: patternOf(contentOf(history.sessionKey, record), values),
        at: record.at,
      });
    }
  }

  get turns(): number {
    return this.#turns.length;
  }

  /**
   * The values of key `index` its patterns are filled with: peer, then one session id per chat turn, then
   * one source position per turn.
   */
  #valuesOf(index: number, turns: number, source = (turn: number) => index * MAX_RECORDS_PER_KEY + turn + 1) {
    const peer = seedPeerOf(index);
    const sessionKey = seedSessionKeyOf(index, this.#config);
    const values = [peer];
    for (let turn = 0; turn < turns; turn += 2)
      values.push(newSessionIdOf(sessionKey, `chat:${chatIdOf(peer, turn)}`));
    for (let turn = 0; turn < turns; turn++) values.push(String(source(turn)));
    return values;
  }

  /** The first `count` records of key `index`, chained from the genesis hash. */
  recordsOf(index: number, count: number): StoredSeedRecord[] {
    if (count > this.#turns.length)
      throw new RangeError(`the template has ${this.#turns.length} turns, not ${count}`);
    const values = this.#valuesOf(index, this.#turns.length);
    const out: StoredSeedRecord[] = [];
    let prevHash = GENESIS_HASH;
    for (let turn = 0; turn < count; turn++) {
      const t = this.#turns[turn] as TurnPattern;
      const id = fill(t.id, values);
      const hash = createHash('sha256')
        .update(`${prevHash}\n${fill(t.content, values)}`, 'utf8')
        .digest('hex');
      out.push({
        id,
        at: t.at,
        correlationId: fill(t.correlationId, values),
        causationId: id,
        bodyJson: fill(t.body, values),
        prevHash,
        hash,
      });
      prevHash = hash;
    }
    return out;
  }

  /**
   * Key `index`'s first `count` records decided for real ({@link SessionHistory}), as stored. Throws when
   * they differ from {@link recordsOf}'s in any byte: the template would then not be a valid history.
   */
  decidedRecordsOf(index: number, count: number): { records: SeedRecord[]; stored: StoredSeedRecord[] } {
    const history = new SessionHistory(index, this.#config, this.#textBytes);
    const templated = this.recordsOf(index, count);
    const records: SeedRecord[] = [];
    let prevHash = GENESIS_HASH;
    for (let turn = 0; turn < count; turn++) {
      const record = history.next();
      const hash = recordHash({
        sessionKey: history.sessionKey,
        id: record.id,
        at: record.at,
        schemaVersion: TRANSITION_SCHEMA_VERSION,
        correlationId: record.correlationId,
        causationId: record.causationId,
        body: record.body,
        prevHash,
      });
      const t = templated[turn] as StoredSeedRecord;
      if (t.bodyJson !== canonicalJson(record.body) || t.hash !== hash || t.id !== record.id)
        throw new Error(
          `seed template: record ${turn} of ${history.sessionKey} differs from the one the session core decides`,
        );
      records.push(record);
      prevHash = hash;
    }
    return { records, stored: templated };
  }
}

/** A source position in the template that no other number in a body can equal. */
const sourceMarker = (turn: number) => 987_654_321_000 + turn;

function patternOf(text: string, values: readonly string[]): Pattern {
  const escaped = values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  // Longest first, so that no value matches inside a longer one.
  const order = escaped
    .map((_, i) => i)
    .sort((a, b) => (values[b] as string).length - (values[a] as string).length);
  const pattern = new RegExp(order.map((i) => `(${escaped[i]})`).join('|'), 'g');
  const parts: string[] = [];
  const holes: number[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const group = match.slice(1).findIndex((g) => g !== undefined);
    parts.push(text.slice(last, match.index));
    holes.push(order[group] as number);
    last = (match.index as number) + match[0].length;
  }
  parts.push(text.slice(last));
  return { parts, holes };
}

function fill(pattern: Pattern, values: readonly string[]): string {
  let out = pattern.parts[0] as string;
  for (let i = 0; i < pattern.holes.length; i++)
    out += (values[pattern.holes[i] as number] as string) + (pattern.parts[i + 1] as string);
  return out;
}

/** A W3C `traceparent` for the `n`-th record: the worker writes every record inside a span. */
export function traceparentOf(n: number): string {
  const hex = (n + 1).toString(16);
  return `00-${hex.padStart(32, '0')}-${hex.padStart(16, '0')}-01`;
}

/**
 * How many records each new key gets so that they add up to `records`: between `min` and `max` each,
 * varying by key index (deterministic), the last key taking what is left (at least one).
 */
export function planKeys(records: number, min: number, max: number, firstKey = 0): number[] {
  if (!(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min >= 1 && max >= min))
    throw new RangeError(`records per key must satisfy 1 ≤ min ≤ max, got ${min}..${max}`);
  const counts: number[] = [];
  let left = records;
  for (let k = firstKey; left > 0; k++) {
    // A multiplicative hash of the index, so neighbouring keys get different lengths.
    const spread = Math.imul(k + 1, 2654435761) >>> 0;
    const n = Math.min(left, min + (spread % (max - min + 1)));
    counts.push(n);
    left -= n;
  }
  return counts;
}

export interface SeedBatch {
  /** Key indexes `[firstKey, firstKey + counts.length)` were written, `counts[i]` records each. */
  readonly firstKey: number;
  readonly counts: readonly number[];
  readonly records: number;
  /** Keys decided for real, compared with the template and written by `NatsSessionLog.append`. */
  readonly verifiedKeys: number;
  readonly elapsedMs: number;
  /** Acknowledged appends per second. */
  readonly rate: number;
}

export interface SeedOptions {
  /** Keys written at once (one append of each in flight). */
  readonly window: number;
  readonly minPerKey: number;
  readonly maxPerKey: number;
  /** Every this many keys (and each batch's first), one is decided for real and written by the worker's writer. Default 1000. */
  readonly verifyEvery?: number;
  readonly textBytes?: number;
}

export interface SessionSeeder {
  /** Appends `records` more records over new keys; resolves when every one is acknowledged. */
  seed(records: number, onProgress?: (done: number) => void): Promise<SeedBatch>;
  /** The session key of key index `i`. */
  sessionKeyOf(i: number): string;
  /** Keys and records written so far. */
  readonly keys: number;
  readonly records: number;
}

/** A writer of seeded histories into the session stream, which must exist (`ensureThreadlineStreams`). */
export function sessionSeeder(nc: NatsConnection, options: SeedOptions): SessionSeeder {
  if (options.maxPerKey > MAX_RECORDS_PER_KEY)
    throw new RangeError(`maxPerKey is at most ${MAX_RECORDS_PER_KEY}, got ${options.maxPerKey}`);
  const config = seedConfig();
  const template = new HistoryTemplate(options.maxPerKey, config, options.textBytes);
  const verifyEvery = options.verifyEvery ?? 1000;
  // The worker's own writer, for the keys decided for real.
  const log = new NatsSessionLog(nc, { jetStream: { timeout: 60_000 } });
  let keys = 0;
  let records = 0;

  /**
   * What `NatsSessionLog.append` publishes, fenced on the key's previous record: its record headers, then
   * the ones the JetStream client adds for `msgID` and `expect` (in the client's order).
   */
  const publish = async (
    acked: AckedPublisher,
    subject: string,
    record: StoredSeedRecord,
    prevSeq: number,
    n: number,
  ) => {
    const h = headers();
    h.set(RecordHeaders.schemaVersion, String(TRANSITION_SCHEMA_VERSION));
    h.set(RecordHeaders.at, String(record.at));
    h.set(RecordHeaders.prevHash, record.prevHash);
    h.set(RecordHeaders.hash, record.hash);
    h.set(RecordHeaders.prevSeq, String(prevSeq));
    h.set(RecordHeaders.correlationId, record.correlationId);
    h.set(RecordHeaders.causationId, record.causationId);
    h.set(RecordHeaders.traceparent, traceparentOf(n));
    h.set(PubHeaders.MsgIdHdr, record.id);
    h.set(PubHeaders.ExpectedStreamHdr, StreamNames.sessions);
    h.set(PubHeaders.ExpectedLastSubjectSequenceHdr, String(prevSeq));
    const ack = await acked.publish(subject, record.bodyJson, h);
    if (ack.duplicate) throw new Error(`seeding ${subject}: record ${record.id} was already stored`);
    return ack.seq;
  };

  return {
    get keys() {
      return keys;
    },
    get records() {
      return records;
    },
    sessionKeyOf: (i) => seedSessionKeyOf(i, config),
    async seed(count, onProgress) {
      const acked = ackedPublisher(nc);
      const firstKey = keys;
      const counts = planKeys(count, options.minPerKey, options.maxPerKey, firstKey);
      let done = 0;
      let verifiedKeys = 0;
      const advance = () => {
        done += 1;
        if (onProgress && done % 100_000 === 0) onProgress(done);
      };
      const started = performance.now();
      try {
        await inFlightWindow(counts.length, options.window, async (k) => {
          const index = firstKey + k;
          const n = counts[k] as number;
          if (k === 0 || index % verifyEvery === 0) {
            // Decided for real, checked against the template, and appended by the worker's writer.
            const { records: decided, stored } = template.decidedRecordsOf(index, n);
            const sessionKey = seedSessionKeyOf(index, config);
            let head = { seq: 0, hash: GENESIS_HASH };
            for (let r = 0; r < n; r++) {
              const record = decided[r] as SeedRecord;
              const appended = await log.append({
                sessionKey,
                expectedLastSeq: head.seq,
                id: record.id,
                body: record.body,
                at: record.at,
                correlationId: record.correlationId,
                causationId: record.causationId,
                prevHash: head.hash,
                schemaVersion: TRANSITION_SCHEMA_VERSION,
                trace: { traceparent: traceparentOf(records + done) },
              });
              if (appended.duplicate || appended.hash !== stored[r]?.hash)
                throw new Error(`seeding ${sessionKey}: the worker's writer stored record ${r} differently`);
              head = { seq: appended.seq, hash: appended.hash };
              advance();
            }
            verifiedKeys += 1;
            return;
          }
          const subject = Subjects.session(seedSessionKeyOf(index, config));
          let prevSeq = 0;
          for (const record of template.recordsOf(index, n)) {
            prevSeq = await publish(acked, subject, record, prevSeq, records + done);
            advance();
          }
        });
      } finally {
        acked.close();
      }
      const elapsedMs = performance.now() - started;
      keys += counts.length;
      records += done;
      return { firstKey, counts, records: done, verifiedKeys, elapsedMs, rate: perSecond(done, elapsedMs) };
    },
  };
}

/** How long a seeding publish may wait for its acknowledgement. */
const ACK_TIMEOUT_MS = 60_000;

interface AckedPublisher {
  /** Publishes with a reply subject and resolves with the stream's acknowledgement (rejects on an error). */
  publish(subject: string, body: string, h: MsgHdrs): Promise<{ seq: number; duplicate: boolean }>;
  close(): void;
}

/**
 * Acknowledged JetStream publishes without the client's per-request machinery (a timer, an error object and
 * a subscription entry each): one reply subscription for all of them, the acknowledgement matched by the
 * reply subject's last token. The stored message is the same as `js.publish` stores: same subject, body and
 * headers. About twice the rate of `js.publish` here, which is what lets ten million records be seeded in
 * minutes.
 */
function ackedPublisher(nc: NatsConnection): AckedPublisher {
  const inbox = createInbox();
  const waiting = new Map<
    number,
    {
      resolve: (ack: { seq: number; duplicate: boolean }) => void;
      reject: (error: Error) => void;
      since: number;
    }
  >();
  let next = 0;
  const fail = (i: number, error: Error) => {
    const w = waiting.get(i);
    if (!w) return;
    waiting.delete(i);
    w.reject(error);
  };
  const sub = nc.subscribe(`${inbox}.*`, {
    callback: (error, m) => {
      if (error) {
        for (const i of [...waiting.keys()]) fail(i, error);
        return;
      }
      const i = Number(m.subject.slice(inbox.length + 1));
      const w = waiting.get(i);
      if (!w) return;
      waiting.delete(i);
      // No responders (no stream) comes back as an empty status message.
      if (m.data.length === 0) {
        w.reject(
          new Error(
            `publish not acknowledged: status ${m.headers?.code ?? '?'} ${m.headers?.description ?? ''}`,
          ),
        );
        return;
      }
      const ack = JSON.parse(new TextDecoder().decode(m.data)) as {
        seq?: number;
        duplicate?: boolean;
        error?: { code: number; err_code?: number; description: string };
      };
      if (ack.error || typeof ack.seq !== 'number')
        w.reject(
          new Error(`publish refused: ${ack.error?.description ?? 'no sequence in the acknowledgement'}`),
        );
      else w.resolve({ seq: ack.seq, duplicate: ack.duplicate === true });
    },
  });
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const [i, w] of waiting)
      if (now - w.since > ACK_TIMEOUT_MS)
        fail(i, new Error(`no acknowledgement within ${ACK_TIMEOUT_MS} ms`));
  }, 1000);
  watchdog.unref();
  return {
    publish(subject, body, h) {
      const i = next++;
      return new Promise((resolve, reject) => {
        waiting.set(i, { resolve, reject, since: performance.now() });
        nc.publish(subject, body, { reply: `${inbox}.${i}`, headers: h });
      });
    },
    close() {
      clearInterval(watchdog);
      sub.unsubscribe();
      for (const i of [...waiting.keys()]) fail(i, new Error('the seeder closed'));
    },
  };
}
