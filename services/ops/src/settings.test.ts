import { describe, expect, it } from 'vitest';
import { readSettings, SETTINGS_DEFAULTS, SettingsError } from './settings.js';

// The shared settings' rules are tested in @threadline/service-runtime; this is how the ops service names them.
describe('readSettings', () => {
  it('given no environment, when read, then every setting has its default', () => {
    const settings = readSettings({}, 123);
    expect(settings).toMatchObject({ ...SETTINGS_DEFAULTS });
    expect(settings.opsId).toMatch(/-123$/);
    expect(settings.configPath).toBeUndefined();
  });

  it('given values, when read, then they are used', () => {
    expect(
      readSettings({
        THREADLINE_NATS_URL: 'nats://10.0.0.1:4222',
        THREADLINE_OPS_ID: 'ops-a.1',
        THREADLINE_CONFIG: '/etc/threadline.json5',
        THREADLINE_METRICS_PORT: '9100',
        THREADLINE_WORKER_ID: 'not mine',
      }),
    ).toEqual({
      natsUrl: 'nats://10.0.0.1:4222',
      opsId: 'ops-a.1',
      partitions: 16,
      replicas: 1,
      leaseTtlMs: 10_000,
      configPath: '/etc/threadline.json5',
      logLevel: 'info',
      metricsPort: 9100,
      metricsHost: '127.0.0.1',
    });
  });

  it('given bad values, when read, then one error names each variable and the problem', () => {
    let error: unknown;
    try {
      readSettings({ THREADLINE_METRICS_PORT: 'http', THREADLINE_OPS_ID: 'has space' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).message).toMatch(/^invalid ops settings:\n/);
    expect((error as SettingsError).problems).toEqual([
      'THREADLINE_METRICS_PORT="http": must be an integer from 0 to 65535',
      `THREADLINE_OPS_ID="has space": 1-128 letters, digits, '-', '_', '=' or inner '.'`,
    ]);
  });
});
