#!/usr/bin/env node
// Session-core benchmark: decisions per second and snapshot bytes per session, each against a baseline
// measured in the same run (raw XState `transition()` on a one-state counter machine; the persisted
// snapshot of that machine). A report, never a pass/fail test: absolute figures on shared machines are
// noise, the ratios are the signal. Runs on the built package: `pnpm --filter @threadline/session-core bench`.
//   --quick           small sizes (proves the harness works)
//   --json <file>     also write the figures as JSON
import { writeFileSync } from 'node:fs';
import { assign, createMachine, initialTransition, transition } from 'xstate';
import { decide, replay, serializeSnapshot } from '../dist/index.js';

const quick = process.argv.includes('--quick');
const jsonAt = process.argv.indexOf('--json');
const N = quick ? 2_000 : 100_000;

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 15, 10, 0, 0);
const rules = {
  policy: { mode: 'daily', atHour: 4, idleMinutes: 120 },
  timeZone: 'Europe/Berlin',
  quietMs: 5 * MIN,
  compactionTimeoutMs: 120_000,
}; // no auto-compaction: this measures ordinary turns
const sender = { id: 'alice', authorized: true, owner: true };
const message = (i) => ({
  type: 'message.inbound',
  messageId: `m${i}`,
  at: T0 + i * 1000,
  text: 'hello there',
  sender,
  tokens: 12,
  rules,
  newSessionId: `s${i}`,
});
const reply = (i) => ({
  type: 'reply.outbound',
  replyId: `r${i}`,
  at: T0 + i * 1000 + 500,
  text: 'hi!',
  tokens: 20,
  usage: { inputTokens: 900, outputTokens: 20 },
});

function rate(label, n, fn) {
  fn(Math.min(n, 1000)); // warm-up
  const t = process.hrtime.bigint();
  fn(n);
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  return { label, n, seconds, perSecond: n / seconds };
}

// Baseline: the cheapest possible pure transition with a context update.
const counter = createMachine({
  context: { n: 0 },
  on: { INC: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
});
const baseline = rate('xstate transition() — counter machine (baseline)', N, (n) => {
  let [s] = initialTransition(counter);
  for (let i = 0; i < n; i++) [s] = transition(counter, s, { type: 'INC' });
});

// decide(): a conversation of alternating messages and replies on one live session.
const decisions = rate('decide() — message/reply turns on a live session', N, (n) => {
  let s = decide(undefined, message(0)).snapshot;
  for (let i = 1; i < n; i++) s = decide(s, i % 2 ? reply(i) : message(i)).snapshot;
});

// Rehydration: replay a 200-input log from nothing, repeatedly.
const log = Array.from({ length: 200 }, (_, i) => (i % 2 ? reply(i) : message(i)));
const replays = rate('replay() — rehydrate a 200-input log (inputs/s)', Math.max(10, N / 200), (n) => {
  for (let i = 0; i < n; i++) replay(log);
});
replays.perSecond *= 200;

const activeSnapshot = replay(log);
const bytes = Buffer.byteLength(serializeSnapshot(activeSnapshot));
const baselineBytes = Buffer.byteLength(
  JSON.stringify(counter.getPersistedSnapshot(initialTransition(counter)[0])),
);

const rows = [
  [baseline.label, `${Math.round(baseline.perSecond).toLocaleString('en')} /s`, '1.00'],
  [
    decisions.label,
    `${Math.round(decisions.perSecond).toLocaleString('en')} /s`,
    (decisions.perSecond / baseline.perSecond).toFixed(3),
  ],
  [
    replays.label,
    `${Math.round(replays.perSecond).toLocaleString('en')} /s`,
    (replays.perSecond / baseline.perSecond).toFixed(3),
  ],
  ['persisted snapshot of the counter machine (baseline)', `${baselineBytes} B`, '1.00'],
  ['session snapshot after 200 turns (canonical JSON)', `${bytes} B`, (bytes / baselineBytes).toFixed(1)],
];
console.log(`session-core benchmark (${quick ? 'quick' : 'full'}, N=${N}, node ${process.version})\n`);
console.log('| measure | figure | ratio to baseline |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
if (jsonAt > 0) {
  const file = process.argv[jsonAt + 1];
  writeFileSync(
    file,
    JSON.stringify(
      {
        quick,
        N,
        node: process.version,
        baseline,
        decisions,
        replays,
        snapshotBytes: bytes,
        baselineSnapshotBytes: baselineBytes,
      },
      null,
      2,
    ),
  );
}
