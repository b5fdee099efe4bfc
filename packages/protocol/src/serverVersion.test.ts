import { describe, expect, it } from 'vitest';
import { checkServerVersion, MIN_NATS_SERVER_VERSION, parseServerVersion } from './serverVersion.js';

describe('checkServerVersion', () => {
  it.each(['2.10.0', '2.10.27', '2.11.4', '2.15.1', '3.0.0', 'v2.10.1', '2.12.0-RC.2'])('accepts %s', (v) => {
    expect(checkServerVersion(v)).toEqual({ ok: true, version: v });
  });

  it.each(['2.9.10', '2.9.25', '2.2.0', '1.4.1', '2.9.99'])('refuses %s and says why', (v) => {
    const verdict = checkServerVersion(v);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.reason).toContain(`nats-server ${v} is older than ${MIN_NATS_SERVER_VERSION}`);
    expect(verdict.reason).toContain('optimistic-concurrency');
    expect(verdict.reason).toContain('#4320');
  });

  it('refuses a version it cannot read instead of guessing', () => {
    const verdict = checkServerVersion('banana');
    expect(verdict).toMatchObject({ ok: false, version: 'banana' });
    expect(checkServerVersion(undefined)).toMatchObject({ ok: false, version: '(not reported)' });
  });

  it('parses the forms servers and binaries print', () => {
    expect(parseServerVersion('nats-server: v2.10.27')).toEqual([2, 10, 27]);
    expect(parseServerVersion('2.11.0-RC.1')).toEqual([2, 11, 0]);
    expect(parseServerVersion('2.10')).toBeUndefined();
  });
});
