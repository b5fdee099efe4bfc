import { describe, expect, it } from 'vitest';
import { serviceLog } from './log.js';
import type { LogLevel } from './settings.js';

function captured(level?: LogLevel) {
  const lines: string[] = [];
  const log = serviceLog({
    service: 'worker',
    instanceId: 'worker-a',
    ...(level === undefined ? {} : { level }),
    destination: { write: (line: string) => lines.push(line) },
  });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('serviceLog', () => {
  it('given a line, when logged, then it is one JSON line with level, time, service, instance, fields and msg', () => {
    const { log, lines, parsed } = captured();
    log({ msg: 'worker started', workerId: 'worker-a', partitions: 4 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\n$/);
    expect(lines[0]).toContain('"msg":"worker started"'); // what the local stack waits for
    expect(parsed()[0]).toEqual({
      level: 'info',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      service: 'worker',
      instanceId: 'worker-a',
      workerId: 'worker-a',
      partitions: 4,
      msg: 'worker started',
    });
  });

  it('given lines of each level, when the level is warn, then only warn and error are written', () => {
    const { log, parsed } = captured('warn');
    for (const level of ['debug', 'info', 'warn', 'error'] as const) log({ msg: level, level });
    log({ msg: 'no level is info' });
    expect(parsed().map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'warn'],
      ['error', 'error'],
    ]);
  });

  it('given the debug level, when logging, then debug lines are written too', () => {
    const { log, parsed } = captured('debug');
    log({ msg: 'detail', level: 'debug' });
    expect(parsed()[0]).toMatchObject({ level: 'debug', msg: 'detail' });
  });

  it('given an error under err or error, when logged, then pino serialises it with its type, message and stack', () => {
    const { log, parsed } = captured();
    const cause = new Error('socket closed');
    log({ msg: 'projector error', level: 'error', where: 'reader', err: new TypeError('boom', { cause }) });
    log({ msg: 'other error', level: 'error', error: new RangeError('out') });
    log({ msg: 'plain error text', level: 'error', error: 'just text' });
    const [first, second, third] = parsed();
    expect(first).toMatchObject({
      level: 'error',
      where: 'reader',
      err: {
        type: 'TypeError',
        message: expect.stringContaining('boom'),
        stack: expect.stringContaining('TypeError: boom'),
      },
    });
    expect(JSON.stringify(first)).toContain('socket closed');
    expect(second).toMatchObject({ error: { type: 'RangeError', message: 'out' } });
    expect(third).toMatchObject({ error: 'just text' });
  });
});
