import { describe, expect, it } from 'vitest';
import { natsServerList } from './serverList.js';

describe('natsServerList', () => {
  it('given a cluster as a comma-separated list, when split, then each server is trimmed and empty entries dropped', () => {
    expect(natsServerList('nats://127.0.0.1:4222, nats://127.0.0.1:4223 ,127.0.0.1:4224,')).toEqual([
      'nats://127.0.0.1:4222',
      'nats://127.0.0.1:4223',
      '127.0.0.1:4224',
    ]);
  });

  it('given one server, then it is the only entry; given only commas and spaces, then there is none', () => {
    expect(natsServerList('nats://10.0.0.1:4222')).toEqual(['nats://10.0.0.1:4222']);
    expect(natsServerList(' ,, ')).toEqual([]);
  });
});
