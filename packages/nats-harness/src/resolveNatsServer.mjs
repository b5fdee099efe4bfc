#!/usr/bin/env node
// Finds a nats-server binary that Threadline can run on (>= 2.10; see docs/adr/0001-nats-server-version-floor.md).
//
// Plain JavaScript with only node: imports, because the repository's scripts call it before `pnpm install`.
// Resolution order:
//   1. $NATS_SERVER_BIN — used as given; an error if it is missing or older than 2.10 (an explicit choice
//      is never silently replaced).
//   2. `nats-server` on PATH, if its version is >= 2.10 (an older one is reported and passed over).
//   3. The project cache (.cache/nats-server/<suite>/), filled earlier by step 4.
//   4. On Debian-like systems: the `nats-server` package of a newer Debian suite (trixie ships 2.10.x),
//      fetched with `apt-get download` against a temporary source list and unpacked with `dpkg-deb -x`
//      into the cache. The system's package state is not touched: lists, caches and the .deb live in a
//      temporary folder. The mirror and keyring are the ones the machine's own apt sources use.
//   5. Otherwise an error saying how to install one.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const MIN_SERVER_VERSION = '2.10.0';
/** The Debian suite whose nats-server package satisfies the floor (2.10.27 when this was written). */
export const CURRENT_SUITE = 'trixie';
/** The Debian suite with the last 2.9.x package; only the version-floor test uses it. */
export const LEGACY_SUITE = 'bookworm';

const here = dirname(fileURLToPath(import.meta.url));

/** The repository root: the nearest ancestor holding pnpm-workspace.yaml. */
export function findRepoRoot(start = here) {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml above ${start}`);
    dir = parent;
  }
}

export function defaultCacheDir() {
  return join(findRepoRoot(), '.cache', 'nats-server');
}

/** Parses `2.10.27`, `v2.10.27`, `nats-server: v2.10.27` or `2.11.0-RC.1` into [major, minor, patch]. */
export function parseVersion(text) {
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(String(text));
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export function compareVersions(a, b) {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) throw new Error(`cannot compare versions ${a} and ${b}`);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** Runs `<bin> --version` and returns the version string (e.g. `2.10.27`), or undefined if it cannot run. */
export async function binaryVersion(bin) {
  try {
    const { stdout } = await execFileAsync(bin, ['--version'], { timeout: 10_000 });
    const v = parseVersion(stdout);
    return v ? v.join('.') : undefined;
  } catch {
    return undefined;
  }
}

function whichOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Reads the machine's apt sources (deb822 `.sources` files and one-line `sources.list`) and returns the
 * first plain Debian archive entry: its URI and keyring. Security and update suites are skipped.
 */
export function systemDebianArchive() {
  if (process.env.THREADLINE_DEBIAN_MIRROR) {
    return {
      uri: process.env.THREADLINE_DEBIAN_MIRROR,
      signedBy: process.env.THREADLINE_DEBIAN_KEYRING ?? '/usr/share/keyrings/debian-archive-keyring.gpg',
    };
  }
  const entries = [];
  const dir = '/etc/apt/sources.list.d';
  const files = existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
  for (const file of ['/etc/apt/sources.list', ...files]) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (name) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim();
        const uris = field('URIs');
        const suites = field('Suites');
        if (!uris || !suites || /^Enabled:\s*no/im.test(stanza)) continue;
        entries.push({
          uri: uris.split(/\s+/)[0],
          suites: suites.split(/\s+/),
          signedBy: field('Signed-By'),
        });
      }
    } else if (file.endsWith('.list')) {
      for (const line of text.split('\n')) {
        const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
        if (!m) continue;
        const signedBy = /signed-by=(\S+)/.exec(m[1] ?? '')?.[1];
        entries.push({ uri: m[2], suites: [m[3]], signedBy });
      }
    }
  }
  const archive = entries.find(
    (e) => /\/debian\/?$/.test(e.uri) && e.suites.some((s) => /^[a-z]+$/.test(s)) && !/security/.test(e.uri),
  );
  if (!archive) return undefined;
  return {
    uri: archive.uri,
    signedBy: archive.signedBy ?? '/usr/share/keyrings/debian-archive-keyring.gpg',
  };
}

function isDebianLike() {
  return (
    existsSync('/etc/debian_version') && Boolean(whichOnPath('apt-get')) && Boolean(whichOnPath('dpkg-deb'))
  );
}

/**
 * Downloads `nats-server` from the given Debian suite and unpacks it to `<cacheDir>/<suite>/`.
 * Safe to run concurrently: each run works in its own temporary folder and renames it into place.
 */
export async function fetchDebianNatsServer({ suite, cacheDir = defaultCacheDir(), log = () => {} }) {
  const archive = systemDebianArchive();
  if (!archive)
    throw new Error('no Debian archive found in /etc/apt/sources.list{,.d} (set THREADLINE_DEBIAN_MIRROR)');
  if (!existsSync(archive.signedBy)) throw new Error(`Debian archive keyring ${archive.signedBy} is missing`);
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(cacheDir, `.fetch-${suite}-`));
  try {
    for (const sub of ['lists/partial', 'cache/archives/partial'])
      await mkdir(join(work, sub), { recursive: true });
    const sourceList = join(work, 'sources.list');
    await writeFile(sourceList, `deb [signed-by=${archive.signedBy}] ${archive.uri} ${suite} main\n`);
    const aptOptions = [
      '-q',
      '-o',
      `Dir::Etc::SourceList=${sourceList}`,
      '-o',
      'Dir::Etc::SourceParts=/dev/null',
      '-o',
      `Dir::State::Lists=${join(work, 'lists')}`,
      '-o',
      `Dir::Cache=${join(work, 'cache')}`,
      '-o',
      'APT::Sandbox::User=root',
    ];
    log(`fetching nats-server from Debian ${suite} (${archive.uri}) into ${cacheDir}`);
    await execFileAsync('apt-get', [...aptOptions, 'update'], { cwd: work, timeout: 180_000 });
    await execFileAsync('apt-get', [...aptOptions, 'download', 'nats-server'], {
      cwd: work,
      timeout: 180_000,
    });
    const deb = (await readdir(work)).find((f) => f.startsWith('nats-server_') && f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download produced no nats-server .deb for ${suite}`);
    const root = join(work, 'root');
    await execFileAsync('dpkg-deb', ['-x', join(work, deb), root]);
    await writeFile(join(root, 'SOURCE'), `${deb}\n`);
    const dest = join(cacheDir, suite);
    await rm(dest, { recursive: true, force: true });
    await rename(root, dest).catch((error) => {
      // Another process finished first: its copy is as good as ours.
      if (!existsSync(join(dest, 'usr/sbin/nats-server'))) throw error;
    });
    return join(dest, 'usr/sbin/nats-server');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const INSTALL_HELP = `Threadline needs nats-server ${MIN_SERVER_VERSION} or newer (2.9.x lets two writers pass one
optimistic-concurrency check on replicated streams; see docs/adr/0001-nats-server-version-floor.md).
Install one and either put it on PATH or set NATS_SERVER_BIN=/path/to/nats-server:
  - Debian trixie or newer / Ubuntu 25.04+: apt-get install nats-server
  - macOS: brew install nats-server
  - any platform: the release archives of the nats-server project, or 'go install github.com/nats-io/nats-server/v2@latest'`;

/**
 * Resolves a nats-server >= 2.10. Returns `{ path, version, source }` where source is one of
 * `env`, `path`, `cache`, `download`. Throws with installation help when none can be found.
 */
export async function resolveNatsServer({ cacheDir = defaultCacheDir(), log = () => {} } = {}) {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    const version = await binaryVersion(fromEnv);
    if (!version) throw new Error(`NATS_SERVER_BIN=${fromEnv} does not run ('--version' failed)`);
    if (compareVersions(version, MIN_SERVER_VERSION) < 0) {
      throw new Error(`NATS_SERVER_BIN=${fromEnv} is nats-server ${version}; ${INSTALL_HELP}`);
    }
    return { path: fromEnv, version, source: 'env' };
  }
  const onPath = whichOnPath('nats-server');
  if (onPath) {
    const version = await binaryVersion(onPath);
    if (version && compareVersions(version, MIN_SERVER_VERSION) >= 0)
      return { path: onPath, version, source: 'path' };
    log(`passing over ${onPath} (version ${version ?? 'unknown'} is older than ${MIN_SERVER_VERSION})`);
  }
  const cached = join(cacheDir, CURRENT_SUITE, 'usr/sbin/nats-server');
  if (existsSync(cached)) {
    const version = await binaryVersion(cached);
    if (version && compareVersions(version, MIN_SERVER_VERSION) >= 0)
      return { path: cached, version, source: 'cache' };
  }
  if (isDebianLike()) {
    const path = await fetchDebianNatsServer({ suite: CURRENT_SUITE, cacheDir, log });
    const version = await binaryVersion(path);
    if (version && compareVersions(version, MIN_SERVER_VERSION) >= 0)
      return { path, version, source: 'download' };
    throw new Error(
      `Debian ${CURRENT_SUITE} gave nats-server ${version ?? '(does not run)'}; ${INSTALL_HELP}`,
    );
  }
  throw new Error(`no nats-server found. ${INSTALL_HELP}`);
}

/**
 * A nats-server 2.9.x for the test that proves the version floor is enforced: $NATS_SERVER_LEGACY_BIN,
 * or Debian bookworm's package fetched into the cache. Never used to run Threadline.
 */
export async function resolveLegacyNatsServer({ cacheDir = defaultCacheDir(), log = () => {} } = {}) {
  const fromEnv = process.env.NATS_SERVER_LEGACY_BIN;
  const cached = join(cacheDir, LEGACY_SUITE, 'usr/sbin/nats-server');
  let path = fromEnv ?? (existsSync(cached) ? cached : undefined);
  if (!path) {
    if (!isDebianLike())
      throw new Error('not a Debian-like system; set NATS_SERVER_LEGACY_BIN to a 2.9.x binary');
    path = await fetchDebianNatsServer({ suite: LEGACY_SUITE, cacheDir, log });
  }
  const version = await binaryVersion(path);
  if (!version || compareVersions(version, MIN_SERVER_VERSION) >= 0) {
    throw new Error(`${path} is nats-server ${version ?? '(does not run)'}, not a pre-2.10 server`);
  }
  return { path, version, source: fromEnv ? 'env' : 'cache' };
}

// CLI: `node resolveNatsServer.mjs [--legacy]` prints the binary's path (progress goes to stderr).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const legacy = process.argv.includes('--legacy');
  const log = (line) => console.error(line);
  (legacy ? resolveLegacyNatsServer({ log }) : resolveNatsServer({ log })).then(
    (found) => {
      console.error(`nats-server ${found.version} (${found.source})`);
      console.log(found.path);
    },
    (error) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
