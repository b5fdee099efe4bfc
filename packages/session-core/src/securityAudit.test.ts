import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';
import { configSecurityFindings } from './securityAudit.js';

const ids = (raw: unknown) => configSecurityFindings(parseConfig(raw).config).map((f) => f.id);

describe('configSecurityFindings', () => {
  it('given the defaults, then the shared main DM session is a warning (and production false a note)', () => {
    const findings = configSecurityFindings(parseConfig({}).config);
    expect(findings.map((f) => [f.id, f.severity, f.path])).toEqual([
      ['shared-dm-session', 'warn', 'session.dmScope'],
      ['not-production', 'info', 'production'],
    ]);
    expect(findings[0]?.message).toMatch(/main, the default/);
    expect(findings[0]?.fix).toMatch(/per-channel-peer/);
  });

  it('given isolated DMs in production, then nothing', () => {
    expect(ids({ session: { dmScope: 'per-channel-peer' }, production: true })).toEqual([]);
    expect(ids({ session: { dmScope: 'per-peer' }, production: true })).toEqual([]);
  });

  it('given the test clock, then a warning naming clock.mode', () => {
    expect(ids({ session: { dmScope: 'per-channel-peer' }, clock: { mode: 'test' } })).toContain(
      'test-clock',
    );
  });

  it('given a summariser over plain HTTP to another host, then a warning; https or loopback is fine', () => {
    const summariser = (url: string) => ({
      session: { dmScope: 'per-channel-peer' },
      production: true,
      compaction: { summariser: 'openai-compatible', openai: { url, model: 'm' } },
    });
    expect(ids(summariser('http://llm.internal:8080/v1'))).toEqual(['summariser-plain-http']);
    expect(ids(summariser('https://api.example.com/v1'))).toEqual([]);
    expect(ids(summariser('http://127.0.0.1:11434/v1'))).toEqual([]);
    expect(ids(summariser('http://localhost:11434/v1'))).toEqual([]);
  });
});
