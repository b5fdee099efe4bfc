/** Test fixtures shared by the protocol's tests (not part of the build). */
import type { CONTROL_EVENT_TYPES } from './inboundEvents.js';

/** A minimal valid control event of each type. */
export function control(
  type: (typeof CONTROL_EVENT_TYPES)[number] = 'timer.fired',
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const specific: Record<string, Record<string, unknown>> = {
    'timer.fired': { timerId: 'daily-summary' },
    'clock.tick': {},
    'session.reset': { trigger: 'operator' },
    'compaction.completed': {
      compactionId: 's1:compaction:3',
      summary: 'Summary of 4 earlier turns',
      keptIds: ['m5', 'r5'],
      tokensBefore: 900,
      tokensAfter: 120,
    },
    'compaction.failed': { compactionId: 's1:compaction:3', reason: 'summariser returned HTTP 503' },
    'compaction.requested': {},
    'send-policy.set': { override: 'deny' },
    'session.imported': {
      source: 'openclaw',
      sessionId: '5f3c2a9e-0d41-4c7b-9a55-2f1e8b7c6d01',
      startedAt: 1_776_600_000_000,
      updatedAt: 1_776_670_000_000,
      lastActivityAt: 1_776_670_000_000,
      turns: [
        { id: 'msg-1', role: 'user', text: 'book a table for two', at: 1_776_660_000_000, senderId: '111' },
        { id: 'msg-2', role: 'assistant', text: 'done: 8pm at Lino', at: 1_776_670_000_000 },
      ],
    },
  };
  return {
    v: 1,
    type,
    id: `scheduler:${type}:agent:main:main:1776675600000`,
    sessionKey: 'agent:main:main',
    at: 1_776_675_600_000,
    ...specific[type],
    ...overrides,
  };
}
