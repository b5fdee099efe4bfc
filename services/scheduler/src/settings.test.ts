import { describe, expect, it } from 'vitest';
import { readSettings, SETTINGS_DEFAULTS, SettingsError } from './settings.js';

// The shared settings' rules are tested in @threadline/service-runtime; this is how the scheduler names them.
describe('readSettings', () => {
  it('given no environment, when read, then every setting has its default', () => {
    const settings = readSettings({}, 123);
    expect(settings).toMatchObject({ ...SETTINGS_DEFAULTS });
    expect(settings.schedulerId).toMatch(/-123$/);
    expect(settings.configPath).toBeUndefined();
  });

  it('given values, when read, then they are used', () => {
    expect(
      readSettings({
        THREADLINE_NATS_URL: 'nats://10.0.0.1:4222',
        THREADLINE_SCHEDULER_ID: 'scheduler-a.1',
        THREADLINE_PARTITIONS: '32',
        THREADLINE_REPLICAS: '3',
        THREADLINE_LEASE_TTL_MS: '1000',
        THREADLINE_CONFIG: '/etc/threadline.json5',
        THREADLINE_WORKER_ID: 'not mine',
      }),
    ).toEqual({
      natsUrl: 'nats://10.0.0.1:4222',
      schedulerId: 'scheduler-a.1',
      partitions: 32,
      replicas: 3,
      leaseTtlMs: 1000,
      configPath: '/etc/threadline.json5',
      logLevel: 'info',
      metricsPort: 0,
      metricsHost: '127.0.0.1',
    });
  });

  it('given bad values, when read, then one error names each variable and the problem', () => {
    let error: unknown;
    try {
      readSettings({ THREADLINE_PARTITIONS: 'many', THREADLINE_SCHEDULER_ID: 'has space' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).message).toMatch(/^invalid scheduler settings:\n/);
    expect((error as SettingsError).problems).toEqual([
      'THREADLINE_PARTITIONS="many": must be an integer from 1 to 1024',
      `THREADLINE_SCHEDULER_ID="has space": 1-128 letters, digits, '-', '_', '=' or inner '.'`,
    ]);
  });
});
