import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { natsServerBinary } from '@threadline/nats-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateIdentities,
  identitiesFromEnvironment,
  passwordVariableOf,
  renderAuthorization,
} from './authorization.js';
import { ROLES } from './permissions.js';

// The checked-in authorization block (infra/nats/auth/identities.inc) must be exactly what the code
// renders today, so the deployment files can never drift from the permissions the services are tested
// with. Regenerate after changing a role's permissions with
// `pnpm --filter @threadline/nats generate-identities` (THREADLINE_WRITE_IDENTITIES=1).
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CHECKED_IN = join(root, 'infra', 'nats', 'auth', 'identities.inc');
const REGENERATE = 'run `pnpm --filter @threadline/nats generate-identities` and commit the result';

const rendered = renderAuthorization(identitiesFromEnvironment());
if (process.env.THREADLINE_WRITE_IDENTITIES === '1') {
  mkdirSync(dirname(CHECKED_IN), { recursive: true });
  writeFileSync(CHECKED_IN, rendered);
}

let bin = '';
let dir = '';
beforeAll(async () => {
  bin = process.env.NATS_SERVER_BIN ?? (await natsServerBinary()).path;
  dir = await mkdtemp(join(tmpdir(), 'threadline-auth-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `nats-server -t` on `file`, with exactly the environment given. */
function check(file: string, env: Record<string, string> = {}): Promise<{ ok: boolean; output: string }> {
  return new Promise((done) => {
    execFile(bin, ['-t', '-c', file], { env: { PATH: process.env.PATH ?? '', ...env } }, (error, out, err) =>
      done({ ok: error === null, output: `${out}${err}`.trim() }),
    );
  });
}

const passwords = Object.fromEntries(ROLES.map((role) => [passwordVariableOf(role), `pw-${role}`]));

describe('renderAuthorization', () => {
  it('infra/nats/auth/identities.inc is what the code renders', () => {
    let committed = '';
    try {
      committed = readFileSync(CHECKED_IN, 'utf8');
    } catch {
      // missing: fails below
    }
    expect(committed, `infra/nats/auth/identities.inc is out of date: ${REGENERATE}`).toBe(rendered);
  });

  it('nats-server accepts it included from the infra configs, once the passwords are in its environment', async () => {
    // Laid out as in infra/nats (an operator's config includes "auth/identities.inc"; include paths are
    // relative to the including file), in a temporary folder.
    const copy = join(dir, 'infra');
    mkdirSync(join(copy, 'auth'), { recursive: true });
    await writeFile(join(copy, 'auth', 'identities.inc'), readFileSync(CHECKED_IN));
    const withAuth = join(copy, 'single.conf');
    await writeFile(withAuth, 'listen: 127.0.0.1:-1\ninclude "auth/identities.inc"\n');
    const accepted = await check(withAuth, passwords);
    expect(accepted.ok, accepted.output).toBe(true);
    // A password variable the server's environment lacks: refused, never an open door.
    const { [passwordVariableOf('worker')]: _, ...missing } = passwords;
    const refused = await check(withAuth, missing);
    expect(refused.ok).toBe(false);
    expect(refused.output).toContain(passwordVariableOf('worker'));
  });

  it('renders literal passwords quoted, one user per role named after it, and refuses bad input', async () => {
    const identities = generateIdentities();
    expect(identities.map((i) => i.user)).toEqual([...ROLES]);
    expect(new Set(identities.map((i) => i.password)).size).toBe(ROLES.length);
    const text = renderAuthorization(identities);
    const file = join(dir, 'literal.conf');
    await writeFile(file, `listen: 127.0.0.1:-1\n${text}`);
    const verdict = await check(file);
    expect(verdict.ok, verdict.output).toBe(true);
    for (const identity of identities)
      expect(text).toContain(`password: ${JSON.stringify(identity.password)}`);
    expect(() => renderAuthorization([{ role: 'worker', user: 'a.b', password: 'x' }])).toThrow(RangeError);
    expect(() =>
      renderAuthorization([
        { role: 'worker', user: 'w', password: 'x' },
        { role: 'ops', user: 'w', password: 'y' },
      ]),
    ).toThrow(/named twice/);
    expect(() => renderAuthorization([{ role: 'worker', user: 'w', password: 'a\nb' }])).toThrow(RangeError);
    expect(() => renderAuthorization([{ role: 'worker', user: 'w', password: { variable: 'X-Y' } }])).toThrow(
      RangeError,
    );
  });
});
