/**
 * Threadline's NATS identities against a real nats-server: every role's forbidden actions are refused by
 * the server — a publisher cannot append to a session log, read a transcript or fire a timer; read-only
 * ops cannot reset or forget — and every role's needed actions pass (so the refusals are not vacuous).
 * Then the local stack, which runs every service as its own role: a chat message published as the
 * publisher is recorded, projected and answered, and the server logs no permission violation.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildServices, type LocalStack, startLocalStack } from '@threadline/devstack';
import {
  announceForgotten,
  ensureThreadlineStreams,
  GENESIS_HASH,
  NatsSessionLog,
  readKvEntry,
} from '@threadline/event-log';
import {
  connectToNats,
  generateIdentities,
  type Identity,
  type Role,
  renderAuthorization,
} from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { BucketNames, OpsService, StreamNames, Subjects } from '@threadline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/processes.js';
import { refusedByPermissions, requestOutcome, subscriptionRefused } from './permissions.support.js';

const KEY = 'agent:main:telegram:direct:42';
const ENTRY = createHash('sha256').update(KEY).digest('hex');
const js = (nc: NatsConnection) => jetstream(nc, { timeout: 3_000 });

/** A chat event as an adapter publishes it. */
function chat(id: string, text: string, authorized = false) {
  return JSON.stringify({
    v: 1,
    type: 'chat.message',
    id,
    channel: 'telegram',
    chatType: 'direct',
    peer: { kind: 'direct', id: '42' },
    sender: { id: '42', ...(authorized ? { isAuthorized: true } : {}) },
    text,
    at: Date.now(),
  });
}

describe("every role's forbidden actions are refused by the server, its needed ones allowed", () => {
  let server: RunningNatsServer;
  let identities: Identity[];
  let admin: NatsConnection;
  let adminJsm: JetStreamManager;
  const open: NatsConnection[] = [];

  const as = async (role: Role): Promise<NatsConnection> => {
    const identity = identities.find((i) => i.role === role) as Identity;
    const nc = await connectToNats({
      servers: server.url,
      user: identity.user,
      pass: identity.password as string,
      name: `security-${role}`,
    });
    open.push(nc);
    return nc;
  };
  /** Stored messages of `stream` (optionally of one subject), as admin sees them. */
  const stored = async (stream: string, subject?: string) =>
    (await adminJsm.streams.info(stream, subject ? { subjects_filter: subject } : undefined)).state.messages;
  const expectRefused = async (nc: NatsConnection, subject: string, data = '') => {
    const outcome = await requestOutcome(nc, subject, data);
    expect(outcome.refused, `${subject}: ${outcome.detail}`).toBe(true);
  };
  const expectPassed = async (nc: NatsConnection, subject: string, data = '') => {
    const outcome = await requestOutcome(nc, subject, data);
    expect(outcome.refused, `${subject}: ${outcome.detail}`).toBe(false);
    return outcome;
  };

  beforeAll(async () => {
    identities = generateIdentities();
    server = await startNatsServer({ extraConfig: renderAuthorization(identities) });
    admin = await connectToNats({
      servers: server.url,
      user: 'admin',
      pass: identities.find((i) => i.role === 'admin')?.password as string,
    });
    adminJsm = await jetstreamManager(admin);
    // What a running system holds: the streams, one session record, a delivery, and an entry in each
    // bucket a role must or must not read or write.
    await ensureThreadlineStreams(admin);
    await new NatsSessionLog(admin).append({
      sessionKey: KEY,
      expectedLastSeq: 0,
      id: 'seed:1',
      body: { seeded: true },
      at: Date.now(),
      prevHash: GENESIS_HASH,
    });
    await js(admin).publish(Subjects.delivery('telegram', '42'), JSON.stringify({ seeded: true }));
    const kvm = new Kvm(admin);
    for (const bucket of [
      BucketNames.sessionStore,
      BucketNames.transcripts,
      BucketNames.snapshots,
      BucketNames.timers,
      BucketNames.checkpoints,
    ])
      await (await kvm.create(bucket, { history: 1 })).put(
        bucket === BucketNames.checkpoints ? 'projector' : ENTRY,
        '1',
      );
  });
  afterAll(async () => {
    await Promise.all(open.map((nc) => nc.close()));
    await admin?.close();
    await server?.dispose();
  });

  it('publisher: publishes chat events and replies and reads deliveries; cannot append to a session log, read a transcript or the sessions, or fire a timer', async () => {
    const nc = await as('publisher');
    // Allowed: what adapters and agents do.
    const ack = await js(nc).publish(Subjects.inbound('telegram', '42'), chat('tg:1', 'hello'), {
      msgID: 'tg:1',
    });
    expect(ack.stream).toBe(StreamNames.inbound);
    const reply = { v: 1, type: 'agent.reply', id: 'agent:1', sessionKey: KEY, text: 'hi', at: Date.now() };
    expect(
      (await js(nc).publish(Subjects.reply(KEY), JSON.stringify(reply), { msgID: 'agent:1' })).stream,
    ).toBe(StreamNames.keyed);
    const deliveries = await js(nc).consumers.get(StreamNames.deliveries);
    expect((await deliveries.next({ expires: 2_000 }))?.subject).toBe(Subjects.delivery('telegram', '42'));
    expect(await subscriptionRefused(nc, Subjects.deliveryAll)).toBe(false);

    // Refused: appending to a session log — and nothing is stored.
    const before = await stored(StreamNames.sessions);
    await expectRefused(nc, Subjects.session(KEY), JSON.stringify({ forged: true }));
    expect(await refusedByPermissions(() => js(nc).publish(Subjects.session(KEY), '{"forged":true}'))).toBe(
      true,
    );
    expect(await stored(StreamNames.sessions)).toBe(before);
    // Refused: firing a timer (or any control event: reset, compaction), or routing as the worker.
    const keyedBefore = await stored(StreamNames.keyed, Subjects.control(KEY));
    const fired = { v: 1, type: 'timer.fired', id: 'forged', sessionKey: KEY, at: Date.now() };
    await expectRefused(nc, Subjects.control(KEY), JSON.stringify(fired));
    expect(await stored(StreamNames.keyed, Subjects.control(KEY))).toBe(keyedBefore);
    await expectRefused(nc, Subjects.routed(KEY));
    await expectRefused(nc, Subjects.forgotten);
    // Refused: reading the session log, in every way JetStream offers.
    const log = new NatsSessionLog(nc);
    expect(await refusedByPermissions(() => log.head(KEY))).toBe(true);
    expect(
      await refusedByPermissions(async () => {
        for await (const _ of log.read(KEY)) break;
      }),
    ).toBe(true);
    await expectRefused(nc, `$JS.API.DIRECT.GET.${StreamNames.sessions}.${Subjects.session(KEY)}`);
    await expectRefused(nc, `$JS.API.STREAM.INFO.${StreamNames.sessions}`);
    expect(await subscriptionRefused(nc, 'tl.session.>')).toBe(true);
    // Refused: reading a transcript or a session entry — from KV, or by asking the ops service.
    const jsm = await jetstreamManager(nc);
    expect(await refusedByPermissions(() => readKvEntry(jsm, BucketNames.transcripts, ENTRY))).toBe(true);
    const store = await new Kvm(nc).open(BucketNames.sessionStore);
    expect(await refusedByPermissions(() => store.get(ENTRY))).toBe(true);
    await expectRefused(
      nc,
      `$JS.API.DIRECT.GET.KV_${BucketNames.transcripts}.$KV.${BucketNames.transcripts}.${ENTRY}`,
    );
    await expectRefused(nc, OpsService.sessionsShow, JSON.stringify({ sessionKey: KEY }));
    await expectRefused(nc, OpsService.replay, '{}');
    expect(await subscriptionRefused(nc, `$KV.${BucketNames.transcripts}.>`)).toBe(true);
    // Refused: writing KV, purging, and eavesdropping on other users' replies.
    await expectRefused(nc, `$KV.${BucketNames.sessionStore}.${ENTRY}`, '{}');
    await expectRefused(nc, `$JS.API.STREAM.PURGE.${StreamNames.inbound}`, '{}');
    expect(await subscriptionRefused(nc, '_INBOX.>')).toBe(true);
    expect(await subscriptionRefused(nc, '_INBOX.admin.>')).toBe(true);
  });

  it('operator-readonly: reads histories, the store and status, asks the ops service; cannot reset, forget, purge, delete or write', async () => {
    const nc = await as('operator-readonly');
    const jsm = await jetstreamManager(nc);
    // Allowed: replay and audit read the log; sessions show reads the store; status lists the streams.
    const records: unknown[] = [];
    for await (const record of new NatsSessionLog(nc).read(KEY)) records.push(record);
    expect(records).toHaveLength(1);
    const head = await new NatsSessionLog(nc).head(KEY);
    expect(head.seq).toBeGreaterThan(0);
    expect(await readKvEntry(jsm, BucketNames.transcripts, ENTRY)).toMatchObject({ text: '1' });
    const names: string[] = [];
    for await (const info of jsm.streams.list()) names.push(info.config.name);
    expect(names).toContain(StreamNames.sessions);
    // Asking the ops service is allowed (nobody answers here: "no responders", not a refusal).
    expect((await expectPassed(nc, OpsService.status, '{}')).detail).toMatch(/no responders|503/i);

    const sessionsBefore = await stored(StreamNames.sessions);
    // Refused: reset (a control event), forget (the broadcast, KV deletes, message deletes, purges).
    const reset = {
      v: 1,
      type: 'session.reset',
      id: 'ops:reset:x',
      sessionKey: KEY,
      at: Date.now(),
      trigger: 'ops',
    };
    await expectRefused(nc, Subjects.control(KEY), JSON.stringify(reset));
    await expectRefused(
      nc,
      Subjects.forgotten,
      JSON.stringify({ v: 1, type: 'keys.forgotten', sessionKeys: [KEY] }),
    );
    await expectRefused(nc, `$KV.${BucketNames.snapshots}.${ENTRY}`, '');
    expect(
      await refusedByPermissions(() =>
        jsm.streams.purge(StreamNames.sessions, { filter: Subjects.session(KEY) }),
      ),
    ).toBe(true);
    expect(await refusedByPermissions(() => jsm.streams.deleteMessage(StreamNames.sessions, head.seq))).toBe(
      true,
    );
    await expectRefused(nc, `$JS.API.STREAM.DELETE.${StreamNames.sessions}`);
    await expectRefused(nc, `$JS.API.STREAM.UPDATE.${StreamNames.sessions}`, '{}');
    await expectRefused(nc, Subjects.inbound('telegram', '42'), chat('tg:op', 'x'));
    expect(await stored(StreamNames.sessions)).toBe(sessionsBefore);
    expect(await readKvEntry(adminJsm, BucketNames.snapshots, ENTRY)).toMatchObject({ text: '1' });
  });

  it('ops (the service): serves tl.ops.v1.* and reads; cannot reset, forget, purge or write KV — not even as a reply-to an asker chose', async () => {
    const nc = await as('ops');
    const jsm = await jetstreamManager(nc);
    expect(await subscriptionRefused(nc, OpsService.sessionsShow)).toBe(false);
    expect(await subscriptionRefused(nc, '$SRV.PING.threadline')).toBe(false);
    expect((await new NatsSessionLog(nc).head(KEY)).seq).toBeGreaterThan(0);
    expect(await readKvEntry(jsm, BucketNames.transcripts, ENTRY)).toMatchObject({ text: '1' });
    await expectRefused(nc, Subjects.control(KEY), '{}');
    await expectRefused(nc, Subjects.forgotten, '{}');
    await expectRefused(nc, `$JS.API.STREAM.PURGE.${StreamNames.sessions}`, '{}');
    await expectRefused(nc, `$JS.API.STREAM.MSG.DELETE.${StreamNames.sessions}`, '{"seq":1}');
    await expectRefused(nc, `$KV.${BucketNames.sessionStore}.${ENTRY}`, '');
    // A request whose reply subject is a purge: the service's answer is refused, the stream untouched.
    const sub = nc.subscribe(OpsService.status, {
      callback: (_, m) => {
        m.respond('{}');
      },
    });
    await nc.flush();
    const asker = await as('operator-readonly');
    const before = await stored(StreamNames.sessions);
    asker.publish(OpsService.status, '{}', { reply: `$JS.API.STREAM.PURGE.${StreamNames.sessions}` });
    await asker.flush();
    await new Promise((resolve) => setTimeout(resolve, 300));
    sub.unsubscribe();
    expect(await stored(StreamNames.sessions)).toBe(before);
  });

  it('worker, projector, scheduler: each writes its own subjects and keys only', async () => {
    const worker = await as('worker');
    expect((await js(worker).publish(Subjects.session('agent:w:x'), '{}')).stream).toBe(StreamNames.sessions);
    const workerKv = new Kvm(worker);
    await (await workerKv.create(BucketNames.checkpoints)).put('route.1', '1');
    await (await workerKv.create(BucketNames.snapshots)).put(ENTRY, '2');
    await expectRefused(worker, `$KV.${BucketNames.checkpoints}.projector`, '9');
    await expectRefused(worker, `$KV.${BucketNames.sessionStore}.${ENTRY}`, '{}');
    await expectRefused(worker, Subjects.inbound('telegram', '42'), chat('tg:w', 'x'));
    await expectRefused(worker, Subjects.forgotten, '{}');
    await expectRefused(worker, `$JS.API.STREAM.PURGE.${StreamNames.sessions}`, '{}');

    const projector = await as('projector');
    await (await new Kvm(projector).create(BucketNames.sessionStore)).put(ENTRY, '3');
    await (await new Kvm(projector).create(BucketNames.checkpoints)).put('projector', '2');
    await expectRefused(projector, Subjects.session(KEY), '{}');
    await expectRefused(projector, Subjects.control(KEY), '{}');
    await expectRefused(projector, `$KV.${BucketNames.snapshots}.${ENTRY}`, '');
    await expectRefused(projector, `$KV.${BucketNames.checkpoints}.route.1`, '0');

    const scheduler = await as('scheduler');
    const fired = { v: 1, type: 'timer.fired', id: 'timer:1', sessionKey: KEY, at: Date.now() };
    expect((await js(scheduler).publish(Subjects.control(KEY), JSON.stringify(fired))).stream).toBe(
      StreamNames.keyed,
    );
    expect(await (await jetstreamManager(scheduler)).streams.purge(`KV_${BucketNames.timers}`)).toMatchObject(
      { success: true },
    );
    await expectRefused(scheduler, `$JS.API.STREAM.PURGE.${StreamNames.sessions}`, '{}');
    await expectRefused(scheduler, Subjects.session(KEY), '{}');
    await expectRefused(scheduler, `$KV.${BucketNames.sessionStore}.${ENTRY}`, '');

    for (const nc of [worker, projector, scheduler]) {
      expect(await subscriptionRefused(nc, Subjects.forgotten)).toBe(false);
      await expectRefused(nc, `$JS.API.STREAM.DELETE.${StreamNames.sessions}`);
      await expectRefused(nc, `$JS.API.STREAM.MSG.DELETE.${StreamNames.sessions}`, '{"seq":1}');
    }
  });

  it('admin may do everything', async () => {
    const nc = await as('admin');
    await expectPassed(nc, `$JS.API.STREAM.INFO.${StreamNames.sessions}`);
    expect(await subscriptionRefused(nc, '>')).toBe(false);
  });
});

describe('the local stack runs every service as its own role', () => {
  let dir = '';
  let stack: LocalStack | undefined;
  const open: NatsConnection[] = [];
  beforeAll(async () => {
    buildServices();
    dir = await mkdtemp(join(tmpdir(), 'threadline-security-'));
  }, 240_000);
  afterAll(async () => {
    await Promise.all(open.map((nc) => nc.close()));
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('records, projects and answers a chat message published as the publisher, and the server logs no violation', async () => {
    stack = await startLocalStack({ dataDir: join(dir, 'data'), natsPort: 0, httpPort: 0 });
    const connect = async (role: Role) => {
      const nc = await connectToNats({ ...stack?.connectOptions(role), name: `security-${role}` } as never);
      open.push(nc);
      return nc;
    };
    const publisher = await connect('publisher');
    const operator = await connect('operator-readonly');
    const answers = publisher.subscribe(Subjects.delivery('telegram', '42'), { max: 1, timeout: 30_000 });
    await js(publisher).publish(Subjects.inbound('telegram', '42'), chat('tg:1', 'hello'), { msgID: 'tg:1' });
    await js(publisher).publish(Subjects.inbound('telegram', '42'), chat('tg:2', '/status', true), {
      msgID: 'tg:2',
    });
    // Recorded by the worker (read back as the read-only operator) …
    const log = new NatsSessionLog(operator);
    expect(await waitUntil(async () => (await log.head('agent:main:main')).seq >= 2, 30_000)).toBe(true);
    // … answered on the conversation's delivery subject, which the publisher reads …
    for await (const m of answers) expect(m.json<{ kind: string }>().kind).toBe('answer');
    // … projected by the projector and served by the ops service.
    let shown: { entry?: { messageCount: number } } = {};
    expect(
      await waitUntil(async () => {
        const reply = await operator.request(
          OpsService.sessionsShow,
          JSON.stringify({ sessionKey: 'agent:main:main' }),
          {
            timeout: 5_000,
          },
        );
        shown = reply.headers?.get('Nats-Service-Error-Code') ? {} : reply.json();
        return (shown.entry?.messageCount ?? 0) >= 2;
      }, 30_000),
      JSON.stringify(shown),
    ).toBe(true);
    // The forgotten broadcast (admin) reaches worker, projector and scheduler, and each may answer it.
    const acks = await announceForgotten(await connect('admin'), ['agent:nobody'], {
      expect: 3,
      waitMs: 5_000,
    });
    expect(acks.map((a) => a.service.split(':')[0]).sort()).toEqual(['projector', 'scheduler', 'worker']);

    await Promise.all(open.splice(0).map((nc) => nc.close()));
    await stack.stop();
    const serverLog = await readFile(join(stack.logDir, 'nats-server.log'), 'utf8');
    expect(serverLog.split('\n').filter((line) => /Violation/.test(line))).toEqual([]);
    for (const service of stack.services) {
      const text = await readFile(service.logFile, 'utf8');
      expect(text, service.name).not.toMatch(/Permissions Violation|Authorization Violation/);
    }
    stack = undefined;
  });
});
