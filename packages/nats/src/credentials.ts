/**
 * How a Threadline component proves who it is to NATS, and whom it trusts: a user and password (one NATS
 * user per role, see `rolePermissions`) and, for TLS, the CA that signed the server's certificate.
 * Services take them from `THREADLINE_NATS_USER`, `THREADLINE_NATS_PASSWORD` (or
 * `THREADLINE_NATS_PASSWORD_FILE`) and `THREADLINE_NATS_TLS_CA`; the CLI from the same variables or its
 * options.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { USER_NAME_PATTERN } from './permissions.js';

export interface NatsCredentials {
  /** The NATS user (its role's permissions apply); absent: connect without credentials. */
  readonly user?: string;
  /** The user's password. Never logged. */
  readonly password?: string;
  /** A CA certificate file (PEM) to trust: the connection then requires TLS, verified against it. */
  readonly tlsCaFile?: string;
}

/**
 * The NATS client options for `credentials`: `user`/`pass` and, with a CA, `tls: { caFile }`. The inbox
 * prefix follows from the user (`connectToNats` sets `_INBOX.<user>`).
 */
export function credentialOptions(
  credentials: NatsCredentials,
): Pick<NodeConnectionOptions, 'user' | 'pass' | 'tls'> {
  return {
    ...(credentials.user === undefined ? {} : { user: credentials.user, pass: credentials.password ?? '' }),
    ...(credentials.tlsCaFile === undefined ? {} : { tls: { caFile: credentials.tlsCaFile } }),
  };
}

/**
 * `text` with the password of every `scheme://user:password@` in it replaced by `***`, for messages and
 * logs (a NATS URL may carry credentials).
 */
export function redactCredentials(text: string): string {
  return text.replace(/(\/\/[^:@/\s]*:)[^@/\s]*@/g, '$1***@');
}

/** Where each credential came from, for problems: a variable's name, or an option's. */
export interface CredentialSourceNames {
  readonly user: string;
  readonly password: string;
  readonly passwordFile: string;
  readonly tlsCa: string;
}

/** The variables services and the CLI read their credentials from. */
export const CREDENTIAL_VARIABLES: CredentialSourceNames = {
  user: 'THREADLINE_NATS_USER',
  password: 'THREADLINE_NATS_PASSWORD',
  passwordFile: 'THREADLINE_NATS_PASSWORD_FILE',
  tlsCa: 'THREADLINE_NATS_TLS_CA',
};

/** The raw values: a user, its password (as text, or a file whose first line it is), a CA file. */
export interface CredentialSources {
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly passwordFile?: string | undefined;
  readonly tlsCa?: string | undefined;
}

/**
 * The credentials `sources` give, and what is wrong with them, each problem naming its source (`names`)
 * and never a password: a password without a user or a user without one, two passwords, a password file
 * that cannot be read or is empty, a user name that is not one subject token, a CA file that does not
 * exist. Empty values count as unset.
 */
export function readCredentials(
  sources: CredentialSources,
  names: CredentialSourceNames = CREDENTIAL_VARIABLES,
): { credentials: NatsCredentials; problems: string[] } {
  const given = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);
  const user = given(sources.user);
  const password = given(sources.password);
  const passwordFile = given(sources.passwordFile);
  const tlsCa = given(sources.tlsCa);
  const problems: string[] = [];
  if (password !== undefined && passwordFile !== undefined)
    problems.push(`${names.password} and ${names.passwordFile} are both set: give the password one way`);
  let secret = password;
  if (passwordFile !== undefined && password === undefined) {
    try {
      secret = readFileSync(passwordFile, 'utf8').split(/\r?\n/)[0] ?? '';
      if (secret === '')
        problems.push(`${names.passwordFile}=${passwordFile}: the file's first line is empty`);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      problems.push(`${names.passwordFile}=${passwordFile}: cannot read it (${reason})`);
    }
  }
  if (user === undefined && (password !== undefined || passwordFile !== undefined))
    problems.push(
      `${password !== undefined ? names.password : names.passwordFile} is set without ${names.user}: set the user too`,
    );
  if (user !== undefined) {
    if (!USER_NAME_PATTERN.test(user))
      problems.push(
        `${names.user}=${JSON.stringify(user)}: 1-64 letters, digits, '-' or '_' (it names the user's inbox)`,
      );
    if (password === undefined && passwordFile === undefined)
      problems.push(
        `${names.user} is set without a password: set ${names.password} or ${names.passwordFile}`,
      );
  }
  if (tlsCa !== undefined) {
    if (!existsSync(tlsCa)) problems.push(`${names.tlsCa}=${tlsCa}: no such file`);
    else if (!statSync(tlsCa).isFile()) problems.push(`${names.tlsCa}=${tlsCa}: not a file`);
  }
  return {
    credentials: {
      ...(user === undefined ? {} : { user }),
      ...(secret === undefined || secret === '' ? {} : { password: secret }),
      ...(tlsCa === undefined ? {} : { tlsCaFile: tlsCa }),
    },
    problems,
  };
}
