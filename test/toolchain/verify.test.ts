import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, repoRoot } from '../support/processes.js';

// `pnpm verify` is the gate CI applies. These tests run the real verify script on a scratch copy of the
// workspace (sources copied, node_modules linked), inject one fault at a time into the pure package
// @threadline/tokens (the smallest pure one, so each nested verify stays short), and require verify to
// fail for the right reason. A clean copy must pass first,
// otherwise a failure would prove nothing.
const target = 'packages/tokens';
let scratch = '';

async function freshCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'threadline-verify-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f && existsSync(join(repoRoot, f)));
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    await cp(join(repoRoot, file), join(dir, file));
  }
  // Link every node_modules folder of the real workspace (pnpm's links inside resolve to the real store).
  for (const pkgDir of ['.', ...workspaceDirs()]) {
    const nm = join(repoRoot, pkgDir, 'node_modules');
    if (existsSync(nm)) symlinkSync(nm, join(dir, pkgDir, 'node_modules'));
  }
  execFileSync('git', ['init', '-q'], { cwd: dir });
  return dir;
}

function workspaceDirs(): string[] {
  return ['packages', 'services']
    .filter((d) => existsSync(join(repoRoot, d)))
    .flatMap((d) => readdirSync(join(repoRoot, d)).map((name) => join(d, name)))
    .concat('test')
    .filter((dir) => existsSync(join(repoRoot, dir, 'package.json')));
}

async function verify(dir: string) {
  const run = capture(process.execPath, ['scripts/verify.mjs', '--filter=@threadline/tokens'], {
    cwd: dir,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', TURBO_CACHE: 'local:' },
  });
  const { code } = await run.exit;
  return { code, output: run.output() };
}

function inject(dir: string, file: string, content: string) {
  writeFileSync(join(dir, target, 'src', file), content);
}

describe('verify', () => {
  beforeAll(async () => {
    scratch = await freshCopy();
  });
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('passes on the unmodified workspace', async () => {
    const result = await verify(scratch);
    expect(result.output).toContain('verify passed');
    expect(result.code).toBe(0);
  });

  it.each([
    {
      fault: 'a lint error',
      file: 'lintFault.ts',
      content: 'export function f(): number {\n  debugger;\n  return 1;\n}\n',
      step: 'lint failed',
      evidence: /noDebugger/,
    },
    {
      fault: 'a type error',
      file: 'typeFault.ts',
      content: "export const n: number = 'not a number';\n",
      step: 'typecheck failed',
      evidence: /TS2322/,
    },
    {
      fault: 'a failing test',
      file: 'failing.test.ts',
      content:
        "import { expect, it } from 'vitest';\n\nit('fails on purpose', () => {\n  expect(1 + 1).toBe(3);\n});\n",
      step: 'tests failed',
      evidence: /fails on purpose/,
    },
    {
      fault: 'a pure package importing node:fs',
      file: 'impure.ts',
      content: "import { readFileSync } from 'node:fs';\n\nexport const read = readFileSync;\n",
      step: 'lint failed',
      evidence: /Pure packages must not import Node\.js modules/,
    },
  ])('fails on $fault', async ({ file, content, step, evidence }) => {
    const dir = await freshCopy();
    try {
      inject(dir, file, content);
      const result = await verify(dir);
      expect(result.code).not.toBe(0);
      expect(result.output).toContain(step);
      expect(result.output).toMatch(evidence);
      expect(result.output).not.toContain('verify passed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the purity boundary', () => {
  const pkgs = readdirSync(join(repoRoot, 'packages')).map((name) => ({
    name,
    manifest: JSON.parse(readFileSync(join(repoRoot, 'packages', name, 'package.json'), 'utf8')) as {
      name: string;
      threadline?: { pure?: boolean };
      dependencies?: Record<string, string>;
    },
  }));
  const pure = pkgs.filter((p) => p.manifest.threadline?.pure === true);
  const biome = JSON.parse(readFileSync(join(repoRoot, 'biome.json'), 'utf8')) as {
    overrides: { includes: string[]; linter?: { rules?: { correctness?: { noNodejsModules?: unknown } } } }[];
  };

  it('covers exactly the packages marked pure, by lint rule', () => {
    expect(pure.length).toBeGreaterThan(0);
    const guarded = biome.overrides
      .filter((o) => o.linter?.rules?.correctness?.noNodejsModules)
      .flatMap((o) => o.includes);
    expect(guarded.sort()).toEqual(pure.map((p) => `packages/${p.name}/src/**`).sort());
  });

  it('keeps pure packages free of transport and impure workspace dependencies', () => {
    const pureNames = new Set(pure.map((p) => p.manifest.name));
    for (const p of pure) {
      for (const dep of Object.keys(p.manifest.dependencies ?? {})) {
        expect(dep.startsWith('@nats-io/') || dep === 'nats', `${p.manifest.name} depends on ${dep}`).toBe(
          false,
        );
        if (dep.startsWith('@threadline/'))
          expect(pureNames.has(dep), `${p.manifest.name} → ${dep}`).toBe(true);
      }
    }
  });
});
