/**
 * A reader for the subset of the nats-server configuration format the files in `infra/` use — `key: value`
 * (or `=`, or a space), `{ }` blocks, `[ ]` arrays, quoted and bare values, `#` and `//` comments — so the
 * tests can check what the files say (ports, routes, store directories). It is deliberately strict:
 * anything it does not understand (an `include`, a duplicate key, a stray character) is an error, never a
 * guess. Whether nats-server itself accepts a file is checked separately with `nats-server -t`.
 */

export type ConfValue = string | ConfValue[] | ConfMap;
export interface ConfMap {
  [key: string]: ConfValue;
}

const KEY = /[A-Za-z0-9_\-.$]/;

export function parseNatsConf(text: string, source = 'config'): ConfMap {
  let at = 0;

  const where = () => {
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    return `${source}:${line}:${at - before.lastIndexOf('\n')}`;
  };
  const fail = (message: string): never => {
    throw new Error(`${where()}: ${message}`);
  };

  /** Skips spaces and tabs, and (when `lines`) newlines, separators and comments too. */
  const skip = (lines: boolean) => {
    while (at < text.length) {
      const c = text[at] as string;
      if (c === ' ' || c === '\t' || c === '\r') at++;
      else if (c === '#' || text.startsWith('//', at)) {
        while (at < text.length && text[at] !== '\n') at++;
      } else if (lines && (c === '\n' || c === ',' || c === ';')) at++;
      else break;
    }
  };

  const quoted = (): string => {
    const quote = text[at++];
    let out = '';
    while (at < text.length && text[at] !== quote) {
      if (text[at] === '\n') fail('unterminated string');
      if (text[at] === '\\' && quote === '"') at++;
      out += text[at++];
    }
    if (at >= text.length) fail('unterminated string');
    at++;
    return out;
  };

  const value = (): ConfValue => {
    const c = text[at];
    if (c === '{') {
      at++;
      return map('}');
    }
    if (c === '[') {
      at++;
      const items: ConfValue[] = [];
      for (;;) {
        skip(true);
        if (at >= text.length) fail('unterminated array');
        if (text[at] === ']') {
          at++;
          return items;
        }
        items.push(value());
      }
    }
    if (c === '"' || c === "'") return quoted();
    const start = at;
    while (at < text.length && !/[\s,;{}[\]#]/.test(text[at] as string)) at++;
    if (at === start) fail(`expected a value, found ${JSON.stringify(text[at] ?? 'end of file')}`);
    return text.slice(start, at);
  };

  const map = (end: '}' | undefined): ConfMap => {
    const out: ConfMap = {};
    for (;;) {
      skip(true);
      if (at >= text.length) {
        if (end) fail(`missing ${end}`);
        return out;
      }
      if (text[at] === end) {
        at++;
        return out;
      }
      let key: string;
      if (text[at] === '"' || text[at] === "'") key = quoted();
      else {
        const start = at;
        while (at < text.length && KEY.test(text[at] as string)) at++;
        key = text.slice(start, at);
        if (!key) fail(`expected a key, found ${JSON.stringify(text[at])}`);
      }
      if (key === 'include') fail('include is not supported here');
      if (Object.hasOwn(out, key)) fail(`duplicate key ${key}`);
      skip(false);
      if (text[at] === ':' || text[at] === '=') at++;
      skip(false);
      out[key] = value();
      skip(false);
      const next = text[at];
      if (next !== undefined && next !== '\n' && next !== ',' && next !== ';' && next !== end)
        fail(`expected the end of ${key}'s line, found ${JSON.stringify(next)}`);
    }
  };

  return map(undefined);
}

/** The value at a dotted path (`jetstream.store_dir`), or undefined. */
export function confValue(conf: ConfMap, path: string): ConfValue | undefined {
  let current: ConfValue | undefined = conf;
  for (const key of path.split('.')) {
    if (current === undefined || typeof current === 'string' || Array.isArray(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** The string at a dotted path; throws when it is missing or not a string. */
export function confString(conf: ConfMap, path: string): string {
  const found = confValue(conf, path);
  if (typeof found !== 'string') throw new Error(`${path}: expected a value, found ${JSON.stringify(found)}`);
  return found;
}

/** The array of strings at a dotted path; throws when it is missing or holds anything else. */
export function confStrings(conf: ConfMap, path: string): string[] {
  const found = confValue(conf, path);
  if (!Array.isArray(found) || !found.every((v) => typeof v === 'string'))
    throw new Error(`${path}: expected a list of values, found ${JSON.stringify(found)}`);
  return found as string[];
}

/** `host:port` → its parts (`0.0.0.0:4222`, `nats-route://nats-1:6222`). */
export function hostPort(text: string): { host: string; port: number } {
  const match = /^(?:[a-z-]+:\/\/)?([^:/]+):(\d+)$/.exec(text);
  if (!match) throw new Error(`not host:port: ${JSON.stringify(text)}`);
  return { host: match[1] as string, port: Number(match[2]) };
}

const UNITS: Record<string, number> = { '': 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/**
 * A nats-server size: a plain number of bytes, or with KB/MB/GB/TB, which nats-server reads as powers of
 * 1024 (1MB is 1048576 in /varz). Other spellings (K, M, MiB, …) are refused rather than guessed.
 */
export function natsSize(text: string): number {
  const match = /^(\d+)(KB|MB|GB|TB)?$/i.exec(text);
  if (!match) throw new Error(`not a size this test knows: ${JSON.stringify(text)}`);
  return Number(match[1]) * (UNITS[(match[2] ?? '').toUpperCase()] as number);
}

/** The `$VARIABLE` references of a config (values that are exactly a reference, as nats-server reads them). */
export function confVariables(conf: ConfValue): string[] {
  if (typeof conf === 'string') return conf.startsWith('$') ? [conf.slice(1)] : [];
  const values = Array.isArray(conf) ? conf : Object.values(conf);
  return [...new Set(values.flatMap(confVariables))].sort();
}

/** A Kubernetes quantity in bytes (`10Gi`, `512Mi`, `1G`). */
export function k8sBytes(text: string): number {
  const match = /^(\d+)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(text);
  if (!match) throw new Error(`not a quantity this test knows: ${JSON.stringify(text)}`);
  const unit = match[2] ?? '';
  const factor = unit.endsWith('i')
    ? 1024 ** (['Ki', 'Mi', 'Gi', 'Ti'].indexOf(unit) + 1)
    : 1000 ** ['', 'K', 'M', 'G', 'T'].indexOf(unit);
  return Number(match[1]) * factor;
}
