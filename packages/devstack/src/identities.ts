/**
 * The local stack's NATS identities: one user per role (`rolePermissions` in `@threadline/nats`), each
 * with a fresh random password at every start. The server's config gets the authorization block; every
 * service connects as its own role; and `<dataDir>/credentials/<role>.env` (mode 0600, folder 0700)
 * says how anyone else connects — the server, the user and the password, as the variables the services
 * and the CLI read. Nothing prints a password: the banner names the files.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateIdentities, type Identity, ROLE_SUMMARIES, ROLES, type Role } from '@threadline/nats';

/** The variables a service or the CLI takes its NATS identity from (and the ones a stack sets itself). */
export const IDENTITY_VARIABLES = [
  'THREADLINE_NATS_USER',
  'THREADLINE_NATS_PASSWORD',
  'THREADLINE_NATS_PASSWORD_FILE',
  'THREADLINE_NATS_TLS_CA',
] as const;

/** How a client connects as one identity: the NATS client's own options (`connectToNats({ ...these })`). */
export interface ConnectOptions {
  readonly servers: string[];
  readonly user: string;
  readonly pass: string;
}

export interface LocalIdentities {
  /** One per role, users named after their roles, with their plain passwords. */
  readonly identities: readonly Identity[];
  /** `<dataDir>/credentials/<role>.env`, once written. */
  readonly files: Readonly<Record<Role, string>>;
  /** `THREADLINE_NATS_USER` and `THREADLINE_NATS_PASSWORD` of a role, for a service's environment. */
  env(role: Role): Record<string, string>;
  /** The NATS client's options to connect to `servers` as `role`. */
  connectOptions(role: Role, servers: readonly string[]): ConnectOptions;
}

function passwordOf(identities: readonly Identity[], role: Role): { user: string; password: string } {
  const identity = identities.find((i) => i.role === role);
  if (!identity || typeof identity.password !== 'string') throw new Error(`no local identity for ${role}`);
  return { user: identity.user, password: identity.password };
}

/** Fresh identities for a stack whose data lives in `dataDir` (nothing is written yet). */
export function localIdentities(dataDir: string): LocalIdentities {
  const identities = generateIdentities();
  const folder = join(dataDir, 'credentials');
  const files = Object.fromEntries(ROLES.map((role) => [role, join(folder, `${role}.env`)])) as Record<
    Role,
    string
  >;
  return {
    identities,
    files,
    env(role) {
      const { user, password } = passwordOf(identities, role);
      return { THREADLINE_NATS_USER: user, THREADLINE_NATS_PASSWORD: password };
    },
    connectOptions(role, servers) {
      const { user, password } = passwordOf(identities, role);
      return { servers: [...servers], user, pass: password };
    },
  };
}

/**
 * Writes `<dataDir>/credentials/<role>.env` for every role (folder 0700, files 0600): the server list, the
 * user and its password, as `THREADLINE_NATS_URL`, `THREADLINE_NATS_USER`, `THREADLINE_NATS_PASSWORD`.
 * Replaces the files of an earlier start (whose passwords no longer work).
 */
export async function writeCredentialFiles(local: LocalIdentities, natsUrl: string): Promise<void> {
  const folder = join(local.files.admin, '..');
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await chmod(folder, 0o700);
  for (const role of ROLES) {
    const { THREADLINE_NATS_USER: user, THREADLINE_NATS_PASSWORD: password } = local.env(role);
    const text = [
      `# Threadline local stack, NATS user ${user}: ${ROLE_SUMMARIES[role]}.`,
      '# A new password at every start of the stack. Use it with: set -a; . <this file>; set +a',
      `THREADLINE_NATS_URL=${natsUrl}`,
      `THREADLINE_NATS_USER=${user}`,
      `THREADLINE_NATS_PASSWORD=${password}`,
      '',
    ].join('\n');
    await writeFile(local.files[role], text, { mode: 0o600 });
    await chmod(local.files[role], 0o600);
  }
}

/** What a credentials file says: the server list, the user and the password. */
export interface CredentialFile {
  readonly natsUrl: string;
  readonly user: string;
  readonly password: string;
  /** The NATS client's options for it. */
  connectOptions(): ConnectOptions;
}

/** Reads a `<role>.env` file the local stack or cluster wrote (tests, tools). */
export async function readCredentialFile(path: string): Promise<CredentialFile> {
  const values = new Map<string, string>();
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) values.set(match[1] as string, match[2] as string);
  }
  const get = (name: string) => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`${path} has no ${name}`);
    return value;
  };
  const natsUrl = get('THREADLINE_NATS_URL');
  const user = get('THREADLINE_NATS_USER');
  const password = get('THREADLINE_NATS_PASSWORD');
  return {
    natsUrl,
    user,
    password,
    connectOptions: () => ({ servers: natsUrl.split(',').map((s) => s.trim()), user, pass: password }),
  };
}

/** A process environment without any NATS identity variable (a service gets exactly its own). */
export function withoutIdentity(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of IDENTITY_VARIABLES) delete copy[name];
  return copy;
}

/** The banner's lines about the identities: which file each role's credentials are in. */
export function describeIdentities(local: LocalIdentities): string[] {
  return [
    `NATS users     one per role, new passwords at every start (mode 0600 files, source them: set -a; . <file>)`,
    ...(['publisher', 'operator-readonly', 'admin'] as const).map(
      (role) => `  ${role.padEnd(18)} ${local.files[role]}`,
    ),
    `  (and ${ROLES.filter((r) => !['publisher', 'operator-readonly', 'admin'].includes(r)).join(', ')}: the services' own, beside them)`,
  ];
}
