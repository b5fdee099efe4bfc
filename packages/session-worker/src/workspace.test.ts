import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AgentConfig,
  initialSessionSnapshot,
  parseConfig,
  renderAnswer,
} from '@threadline/session-core';
import { tokenCounter } from '@threadline/tokens';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readWorkspaceReport } from './workspace.js';

// Given/when/then specs for reading an agent's workspace files for `/context` (spec §5), on real
// temporary directories.

/** Deterministic and easy to check by eye: one token per whitespace-separated word. */
const words = (text: string): number => text.split(/\s+/).filter((word) => word !== '').length;

let base: string;
let dir: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'threadline-workspace-'));
  dir = join(base, 'agent');
  await mkdir(dir);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

function agentWith(workspace: Record<string, unknown> | undefined): AgentConfig {
  const { config } = parseConfig({ agents: { main: workspace === undefined ? {} : { workspace } } });
  return config.agents.main as AgentConfig;
}

const missing = { status: 'MISSING', rawChars: 0, injectedChars: 0, rawTokens: 0, injectedTokens: 0 };

describe('readWorkspaceReport', () => {
  it('given files that fit the budgets, then each is OK with its raw size injected whole', async () => {
    await writeFile(join(dir, 'AGENTS.md'), 'one two three');
    await writeFile(join(dir, 'SOUL.md'), '');
    const report = await readWorkspaceReport(
      agentWith({ dir, bootstrapFiles: ['AGENTS.md', 'SOUL.md'] }),
      words,
    );
    expect(report).toEqual({
      agentId: 'main',
      dir,
      maxFileChars: 20_000,
      maxTotalChars: 100_000,
      totalInjectedChars: 13,
      totalInjectedTokens: 3,
      files: [
        { name: 'AGENTS.md', status: 'OK', rawChars: 13, injectedChars: 13, rawTokens: 3, injectedTokens: 3 },
        { name: 'SOUL.md', status: 'OK', rawChars: 0, injectedChars: 0, rawTokens: 0, injectedTokens: 0 },
      ],
    });
  });

  it('given a file longer than maxFileChars, then it is cut to the limit and TRUNCATED', async () => {
    await writeFile(join(dir, 'SOUL.md'), 'aaaa bbbb cccc dddd');
    const report = await readWorkspaceReport(
      agentWith({ dir, bootstrapFiles: ['SOUL.md'], maxFileChars: 10 }),
      words,
    );
    expect(report.files).toEqual([
      {
        name: 'SOUL.md',
        status: 'TRUNCATED',
        rawChars: 19,
        injectedChars: 10,
        rawTokens: 4,
        injectedTokens: 2,
      },
    ]);
    expect(report.totalInjectedChars).toBe(10);
    expect(report.totalInjectedTokens).toBe(2);
  });

  it('given files that together exceed maxTotalChars, then they consume the budget in order', async () => {
    await writeFile(join(dir, 'A.md'), 'a1 a2 a3 a'); // 10 chars, 4 words
    await writeFile(join(dir, 'B.md'), 'b1 b2 b3 b4 b5 b6 b7'); // 20 chars, 7 words
    await writeFile(join(dir, 'C.md'), 'c1 c2'); // 5 chars: nothing left for it
    const report = await readWorkspaceReport(
      agentWith({ dir, bootstrapFiles: ['A.md', 'B.md', 'C.md'], maxFileChars: 18, maxTotalChars: 25 }),
      words,
    );
    expect(report.files).toEqual([
      { name: 'A.md', status: 'OK', rawChars: 10, injectedChars: 10, rawTokens: 4, injectedTokens: 4 },
      // cut to 18 by the per-file limit, then to the 15 the total budget had left: 'b1 b2 b3 b4 b5 '
      { name: 'B.md', status: 'TRUNCATED', rawChars: 20, injectedChars: 15, rawTokens: 7, injectedTokens: 5 },
      { name: 'C.md', status: 'TRUNCATED', rawChars: 5, injectedChars: 0, rawTokens: 2, injectedTokens: 0 },
    ]);
    expect(report.totalInjectedChars).toBe(25);
    expect(report.totalInjectedTokens).toBe(9);
  });

  it('given a cut in the middle of a surrogate pair, then the pair is left out whole', async () => {
    await writeFile(join(dir, 'USER.md'), 'ab😀cd');
    const report = await readWorkspaceReport(
      agentWith({ dir, bootstrapFiles: ['USER.md'], maxFileChars: 3 }),
      (text) => text.length,
    );
    expect(report.files[0]).toMatchObject({
      status: 'TRUNCATED',
      rawChars: 6,
      injectedChars: 2,
      injectedTokens: 2,
    });
  });

  it('given a file that does not exist, then it is MISSING with zero sizes and no note', async () => {
    const report = await readWorkspaceReport(agentWith({ dir, bootstrapFiles: ['HEARTBEAT.md'] }), words);
    expect(report.files).toEqual([{ name: 'HEARTBEAT.md', ...missing }]);
    expect(report.totalInjectedChars).toBe(0);
  });

  it('given names that leave the workspace, then they are never read', async () => {
    await writeFile(join(base, 'secret.md'), 'top secret');
    await symlink(join(base, 'secret.md'), join(dir, 'LINK.md'));
    const report = await readWorkspaceReport(
      agentWith({
        dir,
        bootstrapFiles: ['../secret.md', join(base, 'secret.md'), 'LINK.md', 'x/../../secret.md'],
      }),
      words,
    );
    const outside = { ...missing, note: 'outside the workspace' };
    expect(report.files).toEqual([
      { name: '../secret.md', ...outside },
      { name: join(base, 'secret.md'), ...outside },
      { name: 'LINK.md', ...outside },
      { name: 'x/../../secret.md', ...outside },
    ]);
    expect(report.totalInjectedChars).toBe(0);
  });

  it('given a symlink and a subdirectory inside the workspace, then they are read', async () => {
    await mkdir(join(dir, 'docs'));
    await writeFile(join(dir, 'docs', 'TOOLS.md'), 'use tools');
    await symlink(join(dir, 'docs', 'TOOLS.md'), join(dir, 'TOOLS.md'));
    const report = await readWorkspaceReport(
      agentWith({ dir, bootstrapFiles: ['docs/TOOLS.md', 'TOOLS.md'] }),
      words,
    );
    expect(report.files.map((file) => [file.name, file.status, file.rawChars])).toEqual([
      ['docs/TOOLS.md', 'OK', 9],
      ['TOOLS.md', 'OK', 9],
    ]);
  });

  it('given a directory where a file is expected, then it is MISSING with a note and nothing throws', async () => {
    await mkdir(join(dir, 'TOOLS.md'));
    const report = await readWorkspaceReport(agentWith({ dir, bootstrapFiles: ['TOOLS.md'] }), words);
    expect(report.files).toEqual([{ name: 'TOOLS.md', ...missing, note: 'not a regular file' }]);
  });

  it.skipIf(process.getuid?.() === 0)(
    'given a file it may not read, then it is MISSING with the error code',
    async () => {
      await writeFile(join(dir, 'USER.md'), 'private');
      await chmod(join(dir, 'USER.md'), 0o000);
      const report = await readWorkspaceReport(agentWith({ dir, bootstrapFiles: ['USER.md'] }), words);
      expect(report.files).toEqual([{ name: 'USER.md', ...missing, note: 'unreadable (EACCES)' }]);
    },
  );

  it('given a workspace directory that does not exist, then every file is MISSING and says why', async () => {
    const gone = join(base, 'gone');
    const report = await readWorkspaceReport(
      agentWith({ dir: gone, bootstrapFiles: ['AGENTS.md', 'SOUL.md'] }),
      words,
    );
    expect(report.dir).toBe(gone);
    expect(report.files).toEqual([
      { name: 'AGENTS.md', ...missing, note: 'workspace directory not found' },
      { name: 'SOUL.md', ...missing, note: 'workspace directory not found' },
    ]);
  });

  it('given an agent without a workspace, then no files, zero totals and the default budgets', async () => {
    expect(await readWorkspaceReport(agentWith(undefined), words)).toEqual({
      agentId: 'main',
      dir: null,
      files: [],
      maxFileChars: 20_000,
      maxTotalChars: 100_000,
      totalInjectedChars: 0,
      totalInjectedTokens: 0,
    });
  });

  it('given the real tokenizer, then raw and injected tokens are its counts of the raw and the cut text', async () => {
    const counter = tokenCounter('o200k_base');
    const text = 'You are a careful assistant. Answer briefly and cite your sources.';
    await writeFile(join(dir, 'AGENTS.md'), text);
    const report = await readWorkspaceReport(
      agentWith({ dir, bootstrapFiles: ['AGENTS.md'], maxFileChars: 28 }),
      counter.count,
    );
    expect(report.files[0]).toEqual({
      name: 'AGENTS.md',
      status: 'TRUNCATED',
      rawChars: text.length,
      injectedChars: 28,
      rawTokens: counter.count(text),
      injectedTokens: counter.count(text.slice(0, 28)),
    });
    expect(report.files[0]?.injectedTokens).toBeLessThan(report.files[0]?.rawTokens ?? 0);
  });

  it('given a report, when rendered as /context detail, then the notes explain each file', async () => {
    await writeFile(join(dir, 'AGENTS.md'), 'aaaa bbbb cccc dddd');
    await writeFile(join(dir, 'SOUL.md'), 'soul');
    const agent = agentWith({
      dir,
      bootstrapFiles: ['AGENTS.md', 'SOUL.md', 'TOOLS.md'],
      maxFileChars: 10,
      maxTotalChars: 12,
    });
    const { config } = parseConfig({ agents: { main: { workspace: agent.workspace } } });
    const text = renderAnswer(
      { kind: 'context', mode: 'detail' },
      {
        sessionKey: 'agent:main:main',
        snapshot: initialSessionSnapshot(),
        now: 0,
        config,
        workspace: await readWorkspaceReport(agent, words),
      },
    );
    expect(text).toBe(
      [
        `Context of agent main — workspace ${dir}`,
        'Budgets: 10 chars per file, 12 chars in total',
        'AGENTS.md  TRUNCATED  raw 19 chars / 4 tok → injected 10 chars / 2 tok',
        '  note: cut to the per-file limit of 10 chars',
        'SOUL.md  TRUNCATED  raw 4 chars / 1 tok → injected 2 chars / 1 tok',
        '  note: cut by the total budget (2 chars were left)',
        'TOOLS.md  MISSING  raw 0 chars / 0 tok → injected 0 chars / 0 tok',
        '  note: not found',
        'Injected in total: 12 chars / 3 tok',
        'Tokens: 0 in / 0 out / 0 total',
        'Context: 0/200,000 (0.0%)',
      ].join('\n'),
    );
  });
});
