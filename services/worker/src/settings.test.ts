import { describe, expect, it } from 'vitest';
import { readSettings, SETTINGS_DEFAULTS, SettingsError } from './settings.js';

// The settings every service shares (NATS URL, config, partitions, replicas, lease, the id's form) are
// tested in @threadline/service-runtime; these are the worker's own and how it names them.
describe('readSettings', () => {
  it('given no environment, when read, then every setting has its default', () => {
    const settings = readSettings({}, 123);
    expect(settings).toMatchObject({ ...SETTINGS_DEFAULTS });
    expect(settings.workerId).toMatch(/-123$/);
    expect(settings.killAfterAppend).toBeUndefined();
    expect(settings.configPath).toBeUndefined();
  });

  it('given values, when read, then they are used', () => {
    const settings = readSettings({
      THREADLINE_NATS_URL: 'nats://10.0.0.1:4222',
      THREADLINE_WORKER_ID: 'worker-a.1',
      THREADLINE_PARTITIONS: '32',
      THREADLINE_REPLICAS: '3',
      THREADLINE_MAX_RESIDENT: '500',
      THREADLINE_MAX_INBOUND_BYTES: '1024',
      THREADLINE_LEASE_TTL_MS: '2000',
      THREADLINE_CONFIG: '/etc/threadline.json5',
      THREADLINE_FAULT: 'kill-after-append=3',
    });
    expect(settings).toEqual({
      natsUrl: 'nats://10.0.0.1:4222',
      workerId: 'worker-a.1',
      partitions: 32,
      replicas: 3,
      maxResident: 500,
      maxInboundBytes: 1024,
      leaseTtlMs: 2000,
      configPath: '/etc/threadline.json5',
      killAfterAppend: 3,
      logLevel: 'info',
      metricsPort: 0,
      metricsHost: '127.0.0.1',
    });
  });

  it('given several bad values, when read, then one error names each variable and the problem', () => {
    let error: unknown;
    try {
      readSettings({
        THREADLINE_PARTITIONS: '0',
        THREADLINE_MAX_RESIDENT: '0',
        THREADLINE_MAX_INBOUND_BYTES: '2000000',
        THREADLINE_WORKER_ID: 'has space',
        THREADLINE_FAULT: 'explode',
        THREADLINE_LOG_LEVEL: 'verbose',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).message).toMatch(/^invalid worker settings:\n/);
    const problems = (error as SettingsError).problems.join('\n');
    expect(problems).toContain('THREADLINE_PARTITIONS="0": must be an integer from 1 to 1024');
    expect(problems).toContain('THREADLINE_MAX_RESIDENT="0": must be an integer from 1 to 10000000');
    expect(problems).toContain(
      'THREADLINE_MAX_INBOUND_BYTES="2000000": must be an integer from 1 to 1048576',
    );
    expect(problems).toContain('THREADLINE_WORKER_ID="has space"');
    expect(problems).toContain('THREADLINE_FAULT="explode"');
    expect(problems).toContain('THREADLINE_LOG_LEVEL="verbose": must be one of debug, info, warn, error');
  });
});
