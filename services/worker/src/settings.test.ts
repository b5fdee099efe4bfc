import { describe, expect, it } from 'vitest';
import { readSettings, SETTINGS_DEFAULTS, SettingsError } from './settings.js';

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
      THREADLINE_CONFIG: '/etc/threadline.json5',
      THREADLINE_FAULT: 'kill-after-append=3',
    });
    expect(settings).toMatchObject({
      natsUrl: 'nats://10.0.0.1:4222',
      workerId: 'worker-a.1',
      partitions: 32,
      replicas: 3,
      maxResident: 500,
      configPath: '/etc/threadline.json5',
      killAfterAppend: 3,
    });
  });

  it('given several bad values, when read, then one error names each variable and the problem', () => {
    let error: unknown;
    try {
      readSettings({
        THREADLINE_PARTITIONS: '0',
        THREADLINE_REPLICAS: 'three',
        THREADLINE_WORKER_ID: 'has space',
        THREADLINE_FAULT: 'explode',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const problems = (error as SettingsError).problems.join('\n');
    expect(problems).toContain('THREADLINE_PARTITIONS="0": must be an integer from 1 to 1024');
    expect(problems).toContain('THREADLINE_REPLICAS="three"');
    expect(problems).toContain('THREADLINE_WORKER_ID="has space"');
    expect(problems).toContain('THREADLINE_FAULT="explode"');
  });
});
