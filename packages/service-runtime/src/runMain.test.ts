import { describe, expect, it } from 'vitest';
import { type MainProcess, runMain } from './runMain.js';
import { SettingsError } from './settings.js';

function fakeProcess() {
  const handlers = new Map<string, () => void>();
  const exits: number[] = [];
  const errors: unknown[][] = [];
  let exited: (code: number) => void = () => {};
  const exit = new Promise<number>((resolve) => {
    exited = resolve;
  });
  const io: MainProcess = {
    on: (signal, handler) => handlers.set(signal, handler),
    exit: (code) => {
      exits.push(code);
      exited(code);
    },
    error: (...data) => errors.push(data),
  };
  return { io, handlers, exits, errors, exit };
}

describe('runMain', () => {
  it.each(['SIGINT', 'SIGTERM'])(
    'given a started service, when %s arrives, then it is stopped once and the process exits 0',
    async (signal) => {
      const fake = fakeProcess();
      let stops = 0;
      const stop = async () => {
        stops += 1;
      };
      await runMain(() => ({ stop }), fake.io);
      expect(fake.exits).toEqual([]);
      fake.handlers.get(signal)?.();
      fake.handlers.get('SIGINT')?.();
      expect(await fake.exit).toBe(0);
      expect(stops).toBe(1);
      expect(fake.exits).toEqual([0]);
    },
  );

  it('given a stop that fails, when a signal arrives, then the error is printed and the process exits 1', async () => {
    const fake = fakeProcess();
    await runMain(async () => ({ stop: () => Promise.reject(new Error('stuck')) }), fake.io);
    fake.handlers.get('SIGTERM')?.();
    expect(await fake.exit).toBe(1);
    expect(String(fake.errors[0]?.[0])).toContain('stuck');
  });

  it('given invalid settings, when starting, then only the problems are printed and the process exits 2', async () => {
    const fake = fakeProcess();
    const error = new SettingsError(
      ['THREADLINE_PARTITIONS="0": must be an integer from 1 to 1024'],
      'thing',
    );
    await runMain(() => {
      throw error;
    }, fake.io);
    expect(fake.exits).toEqual([2]);
    expect(fake.errors).toEqual([[error.message]]);
    expect(fake.handlers.size).toBe(0);
  });

  it('given any other start failure, when starting, then the error is printed and the process exits 1', async () => {
    const fake = fakeProcess();
    const error = new Error('no NATS');
    await runMain(() => Promise.reject(error), fake.io);
    expect(fake.exits).toEqual([1]);
    expect(fake.errors).toEqual([[error]]);
    expect(fake.handlers.size).toBe(0);
  });
});
