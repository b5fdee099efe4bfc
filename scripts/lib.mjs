// Helpers shared by the repository scripts. Plain Node, no dependencies: these run before
// `pnpm install` has put anything in node_modules.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The pnpm version pinned in package.json's `packageManager` field (e.g. `10.34.8`). */
export function pinnedPnpmVersion() {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const match = /^pnpm@(\d+\.\d+\.\d+)/.exec(pkg.packageManager ?? '');
  if (!match) throw new Error('package.json: packageManager must pin pnpm, e.g. "pnpm@10.34.8"');
  return match[1];
}

/**
 * How to invoke the pinned pnpm without a global install: when a script already runs under pnpm we reuse
 * that binary; otherwise `npx pnpm@<pinned>` (corepack is deliberately not used: it fails its signature
 * check on some machines).
 */
export function pnpmCommand() {
  const execPath = process.env.npm_execpath ?? '';
  const version = pinnedPnpmVersion();
  if (/pnpm/.test(execPath) && process.env.npm_config_user_agent?.includes(`pnpm/${version}`)) {
    return { cmd: process.execPath, args: [execPath] };
  }
  return { cmd: 'npx', args: ['--yes', `pnpm@${version}`] };
}

/** Runs a command with inherited stdio; resolves with its exit code (signals map to 128+n). */
export function run(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const env = withLocalBin(options.env ?? process.env);
    const child = spawn(cmd, args, { stdio: 'inherit', cwd: repoRoot, ...options, env });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)));
  });
}

/**
 * The environment with the workspace's node_modules/.bin first on PATH, so that tools (turbo, biome) and
 * the pinned pnpm devDependency (turbo looks for the package manager's binary) are found.
 */
export function withLocalBin(env) {
  const bin = join(repoRoot, 'node_modules', '.bin');
  return { ...env, PATH: `${bin}${delimiter}${env.PATH ?? ''}` };
}

function signalNumber(signal) {
  return { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal] ?? 1;
}

export async function runPnpm(args, options = {}) {
  const { cmd, args: prefix } = pnpmCommand();
  return run(cmd, [...prefix, ...args], options);
}

/** Exits the process with `code` unless it is 0. */
export function check(code, what) {
  if (code !== 0) {
    console.error(`\n✖ ${what} failed (exit ${code})`);
    process.exit(code);
  }
}

export function step(title) {
  console.log(`\n▶ ${title}`);
}
