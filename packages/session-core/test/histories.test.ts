import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decide,
  SESSION_MACHINE_VERSION,
  type SessionInput,
  type SessionSnapshot,
  serializeSnapshot,
} from '../src/index.js';
import { scenarios } from './historyScenarios.js';

// Recorded histories replayed through the current code. A failure means the machine now decides
// differently for stored sessions: either a bug, or an intended change that needs a machine-version bump,
// a migration note, and re-recording with THREADLINE_RECORD_HISTORIES=1.
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'histories');

interface History {
  name: string;
  description: string;
  machineVersion: number;
  steps: {
    input: SessionInput;
    state: string;
    facts: unknown[];
    timers: unknown;
    answers: unknown[];
    compactions: unknown[];
  }[];
  finalSnapshot: string;
}

function record(): void {
  for (const scenario of scenarios) {
    let snapshot: SessionSnapshot | undefined;
    const steps: History['steps'] = [];
    for (const step of scenario.steps) {
      const input = typeof step === 'function' ? step(snapshot as never) : step;
      const d = decide(snapshot, input);
      steps.push({
        input,
        state: d.snapshot.state,
        facts: d.facts,
        timers: d.timers,
        answers: d.answers,
        compactions: d.compactions,
      });
      snapshot = d.snapshot;
    }
    const history: History = {
      name: scenario.name,
      description: scenario.description,
      machineVersion: SESSION_MACHINE_VERSION,
      steps,
      finalSnapshot: serializeSnapshot(snapshot as SessionSnapshot),
    };
    writeFileSync(join(dir, `${scenario.name}.json`), `${JSON.stringify(history, null, 2)}\n`);
  }
}

if (process.env.THREADLINE_RECORD_HISTORIES === '1') record();

const histories = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as History);

describe('recorded session histories replay identically', () => {
  it('has a recorded history for every scenario', () => {
    expect(histories.map((h) => h.name).sort()).toEqual(scenarios.map((s) => s.name).sort());
  });

  it.each(histories.map((h) => [h.name, h] as const))('%s', (_name, history) => {
    expect(history.machineVersion, 'recorded with another machine version: migrate and re-record').toBe(
      SESSION_MACHINE_VERSION,
    );
    let snapshot: SessionSnapshot | undefined;
    history.steps.forEach((step, i) => {
      const d = decide(snapshot, step.input);
      expect(
        {
          state: d.snapshot.state,
          facts: d.facts,
          timers: d.timers,
          answers: d.answers,
          compactions: d.compactions,
        },
        `step ${i}`,
      ).toEqual({
        state: step.state,
        facts: step.facts,
        timers: step.timers,
        answers: step.answers,
        compactions: step.compactions,
      });
      snapshot = d.snapshot;
    });
    expect(serializeSnapshot(snapshot as SessionSnapshot)).toBe(history.finalSnapshot);
  });
});
