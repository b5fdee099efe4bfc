import { BucketNames, OpsService, StreamNames, Subjects } from '@threadline/protocol';
import { describe, expect, it } from 'vitest';
import { inboxPrefixOf, ROLES, type Role, rolePermissions } from './permissions.js';

/** NATS subject matching: `*` one token, `>` one or more trailing tokens. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** What nats-server decides for a publish (or subscribe) of `subject`: allowed and not denied. */
function may(role: Role, verb: 'publish' | 'subscribe', subject: string, user: string = role): boolean {
  const rules = rolePermissions(role, user)[verb];
  return rules.allow.some((a) => matches(a, subject)) && !rules.deny.some((d) => matches(d, subject));
}

const KEY = 'agent%3Amain%3Amain';
const kv = (bucket: string, key = 'k') => `$KV.${bucket}.${key}`;
const directGet = (bucket: string, key = 'k') => `$JS.API.DIRECT.GET.KV_${bucket}.$KV.${bucket}.${key}`;

describe('rolePermissions', () => {
  it('gives no role but admin a wildcard over the JetStream API, the KV namespace or everything', () => {
    for (const role of ROLES.filter((r) => r !== 'admin')) {
      const { publish, subscribe } = rolePermissions(role, role);
      for (const subject of [...publish.allow, ...subscribe.allow]) {
        expect(['>', '$JS.API.>', '$JS.>', '$KV.>', '_INBOX.*', 'tl.>']).not.toContain(subject);
        expect(subject, `${role}: ${subject}`).not.toMatch(/^\$JS\.API\.(STREAM|CONSUMER)\.[A-Z.]*>$/);
      }
    }
    expect(rolePermissions('admin', 'admin').publish.allow).toEqual(['>']);
  });

  it('never allows what the same role denies (a grant its deny list would silently cancel)', () => {
    for (const role of ROLES)
      for (const verb of ['publish', 'subscribe'] as const) {
        const { allow, deny } = rolePermissions(role, role)[verb];
        const cancelled = allow.filter((a) => deny.some((d) => matches(d, a)));
        expect(cancelled, `${role} ${verb}`).toEqual([]);
      }
  });

  it('gives every user a private inbox: its own, never _INBOX.> (which would read every reply in the account)', () => {
    for (const role of ROLES.filter((r) => r !== 'admin')) {
      expect(may(role, 'subscribe', '_INBOX.alice.AbC.1', 'alice')).toBe(true);
      expect(may(role, 'subscribe', '_INBOX.bob.AbC.1', 'alice')).toBe(false);
      expect(may(role, 'subscribe', '_INBOX.>', 'alice')).toBe(false);
    }
    expect(inboxPrefixOf('worker-2')).toBe('_INBOX.worker-2');
    expect(() => inboxPrefixOf('a.b')).toThrow(RangeError);
    expect(() => rolePermissions('worker', 'no spaces')).toThrow(RangeError);
  });

  it('publisher: chat events, replies and deliveries; no session log, control event, transcript or KV', () => {
    expect(may('publisher', 'publish', Subjects.inbound('telegram', '42'))).toBe(true);
    expect(may('publisher', 'publish', Subjects.reply(KEY))).toBe(true);
    expect(
      may('publisher', 'publish', `$JS.API.CONSUMER.CREATE.${StreamNames.deliveries}.c.tl.out.v1.x.>`),
    ).toBe(true);
    expect(may('publisher', 'publish', `$JS.ACK.${StreamNames.deliveries}.adapter.1.2.3.4.5.6`)).toBe(true);
    expect(may('publisher', 'subscribe', Subjects.delivery('telegram', '42'))).toBe(true);
    for (const subject of [
      Subjects.session(KEY),
      Subjects.control(KEY),
      Subjects.routed(KEY),
      Subjects.forgotten,
      OpsService.sessionsShow,
      kv(BucketNames.sessionStore),
      `$JS.API.CONSUMER.CREATE.${StreamNames.sessions}`,
      `$JS.API.CONSUMER.CREATE.${StreamNames.sessions}.c.tl.session.x`,
      `$JS.API.STREAM.MSG.GET.${StreamNames.sessions}`,
      `$JS.API.DIRECT.GET.${StreamNames.sessions}.tl.session.x`,
      directGet(BucketNames.transcripts),
      `$JS.API.STREAM.MSG.GET.KV_${BucketNames.transcripts}`,
      `$JS.API.STREAM.PURGE.${StreamNames.inbound}`,
    ])
      expect(may('publisher', 'publish', subject), subject).toBe(false);
    expect(may('publisher', 'subscribe', Subjects.session(KEY))).toBe(false);
    expect(may('publisher', 'subscribe', kv(BucketNames.transcripts))).toBe(false);
  });

  it('ops and operator-readonly: read, never reset, forget, purge, delete or write KV', () => {
    for (const role of ['ops', 'operator-readonly'] as const) {
      expect(may(role, 'publish', `$JS.API.CONSUMER.CREATE.${StreamNames.sessions}`)).toBe(true);
      expect(may(role, 'publish', `$JS.API.STREAM.MSG.GET.KV_${BucketNames.transcripts}`)).toBe(true);
      for (const subject of [
        Subjects.control(KEY),
        Subjects.forgotten,
        Subjects.inbound('telegram', '42'),
        kv(BucketNames.sessionStore),
        kv(BucketNames.timers),
        `$JS.API.STREAM.PURGE.${StreamNames.sessions}`,
        `$JS.API.STREAM.PURGE.KV_${BucketNames.timers}`,
        `$JS.API.STREAM.MSG.DELETE.${StreamNames.sessions}`,
        `$JS.API.STREAM.DELETE.${StreamNames.sessions}`,
        `$JS.API.STREAM.UPDATE.${StreamNames.sessions}`,
      ])
        expect(may(role, 'publish', subject), `${role} ${subject}`).toBe(false);
    }
    expect(may('operator-readonly', 'publish', OpsService.replay)).toBe(true);
    expect(may('ops', 'subscribe', OpsService.sessionsShow)).toBe(true);
    expect(may('ops', 'subscribe', '$SRV.PING.threadline.abc')).toBe(true);
    // The ops service answers into the askers' inboxes only.
    expect(may('ops', 'publish', '_INBOX.operator-readonly.AbC.1')).toBe(true);
  });

  it('services: each writes only its own subjects and its own checkpoints', () => {
    expect(may('worker', 'publish', Subjects.session(KEY))).toBe(true);
    expect(may('worker', 'publish', kv(BucketNames.checkpoints, 'route.3'))).toBe(true);
    expect(may('worker', 'publish', kv(BucketNames.checkpoints, 'apply.3'))).toBe(true);
    expect(may('worker', 'publish', kv(BucketNames.checkpoints, 'projector'))).toBe(false);
    expect(may('worker', 'publish', kv(BucketNames.sessionStore))).toBe(false);
    expect(may('worker', 'publish', Subjects.inbound('telegram', '42'))).toBe(false);
    expect(may('projector', 'publish', kv(BucketNames.sessionStore))).toBe(true);
    expect(may('projector', 'publish', kv(BucketNames.checkpoints, 'projector'))).toBe(true);
    expect(may('projector', 'publish', kv(BucketNames.checkpoints, 'route.3'))).toBe(false);
    expect(may('projector', 'publish', Subjects.session(KEY))).toBe(false);
    expect(may('projector', 'publish', Subjects.control(KEY))).toBe(false);
    expect(may('scheduler', 'publish', Subjects.control(KEY))).toBe(true);
    expect(may('scheduler', 'publish', Subjects.tick('UTC', 4))).toBe(true);
    expect(may('scheduler', 'publish', `$JS.API.STREAM.PURGE.KV_${BucketNames.timers}`)).toBe(true);
    expect(may('scheduler', 'publish', `$JS.API.STREAM.PURGE.${StreamNames.sessions}`)).toBe(false);
    expect(may('scheduler', 'publish', Subjects.session(KEY))).toBe(false);
    expect(may('scheduler', 'publish', kv(BucketNames.checkpoints, 'scheduler.tick.4'))).toBe(true);
    for (const role of ['worker', 'projector', 'scheduler'] as const) {
      expect(may(role, 'subscribe', Subjects.forgotten)).toBe(true);
      expect(may(role, 'publish', Subjects.forgotten)).toBe(false);
      expect(may(role, 'publish', `$JS.API.STREAM.CREATE.${StreamNames.sessions}`)).toBe(true);
      // Provisioning updates the limits of Threadline's streams in place (ADR 0023); nothing else.
      expect(may(role, 'publish', `$JS.API.STREAM.UPDATE.${StreamNames.sessions}`)).toBe(true);
      expect(may(role, 'publish', `$JS.API.STREAM.UPDATE.KV_${BucketNames.sessionStore}`)).toBe(false);
      expect(may(role, 'publish', '$JS.API.STREAM.UPDATE.OTHER')).toBe(false);
      expect(may(role, 'publish', `$JS.API.STREAM.DELETE.${StreamNames.sessions}`)).toBe(false);
      expect(may(role, 'publish', `$JS.API.STREAM.MSG.DELETE.${StreamNames.sessions}`)).toBe(false);
    }
  });
});
