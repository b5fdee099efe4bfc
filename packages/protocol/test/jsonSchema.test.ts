import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import * as protocol from '../src/index.js';
import {
  CONTROL_EVENT_TYPES,
  controlSubjectFor,
  deadLetterSubjectFor,
  deadLetterV1Schema,
  decodeBase64,
  decodeUtf8,
  encodeBase64,
  encodeSubjectToken,
  inboundJsonSchemas,
  inboundSubjectFor,
  replySubjectFor,
  validateInbound,
} from '../src/index.js';

// The committed JSON Schemas (docs/schemas/) must be exactly what the zod schemas generate today, and every
// example in docs/protocol.md must be a real, valid payload. Regenerate after changing a schema with
// `pnpm --filter @threadline/protocol generate-schemas` (THREADLINE_WRITE_SCHEMAS=1).
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const schemaDir = join(root, 'docs', 'schemas');
const protocolDoc = readFileSync(join(root, 'docs', 'protocol.md'), 'utf8');
const REGENERATE = 'run `pnpm --filter @threadline/protocol generate-schemas` and commit the result';

const generated = inboundJsonSchemas();
const render = (schema: unknown) => `${JSON.stringify(schema, null, 2)}\n`;

if (process.env.THREADLINE_WRITE_SCHEMAS === '1') {
  mkdirSync(schemaDir, { recursive: true });
  const files = Object.entries(generated).map(([file, schema]) => {
    writeFileSync(join(schemaDir, file), render(schema));
    return join(schemaDir, file);
  });
  // Written in the repository's JSON style, so that `biome ci` passes on the generated files.
  execFileSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', ...files], { cwd: root });
}

function committed(file: string): string | undefined {
  try {
    return readFileSync(join(schemaDir, file), 'utf8');
  } catch {
    return undefined;
  }
}

/** A validator built from the committed JSON Schema document, independent of the zod source. */
const fromJsonSchema = (file: string) => z.fromJSONSchema(JSON.parse(committed(file) ?? '{}'));

interface Example {
  kind: 'chat' | 'reply' | 'control' | 'dead-letter' | 'delivery';
  subject: string;
  text: string;
}

/** `<!-- example: <kind> subject=<subject> -->` followed by a ```json block. */
function examples(): Example[] {
  const found: Example[] = [];
  const pattern =
    /<!-- example: (chat|reply|control|dead-letter|delivery) subject=(\S+) -->\n```json\n([\s\S]*?)\n```/g;
  for (const match of protocolDoc.matchAll(pattern)) {
    found.push({ kind: match[1] as Example['kind'], subject: match[2] as string, text: match[3] as string });
  }
  return found;
}

function section(name: string): string[][] {
  const start = protocolDoc.indexOf(`<!-- ${name} -->`);
  const end = protocolDoc.indexOf(`<!-- /${name} -->`);
  expect(start, `docs/protocol.md has a <!-- ${name} --> section`).toBeGreaterThan(-1);
  return protocolDoc
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .slice(1) // header row
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

const SCHEMA_FILE = {
  chat: 'chat-event.v1.json',
  reply: 'agent-reply.v1.json',
  control: 'control-event.v1.json',
} as const;

const unquote = (cell: string) => cell.replace(/^`|`$/g, '');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

describe('committed JSON Schemas', () => {
  it('has exactly the generated files in docs/schemas', () => {
    const files = readdirSync(schemaDir).filter((f) => f.endsWith('.json'));
    expect(files.sort(), `stale or missing schema files: ${REGENERATE}`).toEqual(
      Object.keys(generated).sort(),
    );
  });

  it.each(Object.keys(generated))('%s matches the zod schemas', (file) => {
    const schema = generated[file as keyof typeof generated];
    // Compared as JSON values: the file's layout is the formatter's business.
    expect(
      JSON.parse(committed(file) ?? 'null'),
      `docs/schemas/${file} is out of date: ${REGENERATE}`,
    ).toEqual(schema);
  });
});

describe('examples in docs/protocol.md', () => {
  const found = examples();

  it('has the promised examples: a Telegram DM, a WhatsApp group thread, a heartbeat, a reply, one control event of each type, a delivery, a dead letter', () => {
    expect(found.map((e) => e.kind)).toEqual([
      'chat',
      'chat',
      'chat',
      'reply',
      'control',
      'control',
      'control',
      'control',
      'control',
      'control',
      'control',
      'control',
      'delivery',
      'dead-letter',
    ]);
    const chats = found.filter((e) => e.kind === 'chat').map((e) => JSON.parse(e.text));
    expect(chats.map((c) => c.channel)).toEqual(['telegram', 'whatsapp', 'system']);
    expect(chats[1].threadId).toBeTruthy();
    expect(chats[2].provider).toBe('heartbeat');
    const controls = found.filter((e) => e.kind === 'control').map((e) => JSON.parse(e.text));
    expect(controls.map((c) => c.type)).toEqual([...CONTROL_EVENT_TYPES]);
  });

  it.each(
    found
      .filter((e) => e.kind !== 'dead-letter' && e.kind !== 'delivery')
      .map((e) => [e.subject, e] as const),
  )('the example on %s is valid for the worker and for the committed JSON Schema', (_subject, example) => {
    const kind = example.kind as 'chat' | 'reply' | 'control';
    const verdict = validateInbound(bytes(example.text), {
      maxBytes: protocol.DEFAULT_MAX_INBOUND_BYTES,
      kind,
    });
    expect(verdict).toMatchObject({ ok: true });
    if (!verdict.ok) return;
    expect(fromJsonSchema(SCHEMA_FILE[kind]).safeParse(JSON.parse(example.text)).success).toBe(true);
    // Nothing in an example is silently dropped: it uses only fields the schema knows.
    expect(JSON.parse(JSON.stringify(verdict.event))).toEqual(JSON.parse(example.text));
    const subject =
      'peer' in verdict.event
        ? inboundSubjectFor(verdict.event)
        : kind === 'control'
          ? controlSubjectFor(verdict.event)
          : replySubjectFor(verdict.event);
    expect(subject).toBe(example.subject);
  });

  it('the delivery example is valid for the zod schema and the committed JSON Schema, on its own subject', () => {
    const example = found.find((e) => e.kind === 'delivery');
    const delivery = protocol.deliveryV1Schema.parse(JSON.parse(example?.text ?? ''));
    expect(fromJsonSchema('delivery.v1.json').safeParse(JSON.parse(example?.text ?? '')).success).toBe(true);
    expect(JSON.parse(JSON.stringify(delivery))).toEqual(JSON.parse(example?.text ?? ''));
    expect(protocol.deliverySubjectFor(delivery)).toBe(example?.subject);
  });

  it('the dead-letter example is what the worker would write for its original bytes', () => {
    const example = found.find((e) => e.kind === 'dead-letter');
    const letter = deadLetterV1Schema.parse(JSON.parse(example?.text ?? ''));
    expect(fromJsonSchema('dead-letter.v1.json').safeParse(letter).success).toBe(true);
    expect(deadLetterSubjectFor(letter)).toBe(example?.subject);

    const original = decodeBase64(letter.originalBase64);
    expect(original && Buffer.from(original).toString('base64')).toBe(letter.originalBase64);
    if (!original) return;
    expect(original.length).toBe(letter.originalSize);
    const verdict = validateInbound(original, { maxBytes: protocol.DEFAULT_MAX_INBOUND_BYTES, kind: 'chat' });
    expect(verdict).toEqual({ ok: false, code: letter.code, reason: letter.reason });
    expect(letter.subject).toBe(inboundSubjectFor(JSON.parse(Buffer.from(original).toString('utf8'))));
    // The original is invalid for the committed JSON Schema too: the generated schema is not vacuous.
    expect(
      fromJsonSchema('chat-event.v1.json').safeParse(JSON.parse(Buffer.from(original).toString())).success,
    ).toBe(false);
  });

  it('the token-encoding table matches encodeSubjectToken', () => {
    const rows = section('token-examples');
    expect(rows.length).toBeGreaterThan(5);
    for (const [value, token] of rows) {
      expect(encodeSubjectToken(JSON.parse(unquote(value ?? '')))).toBe(unquote(token ?? ''));
    }
  });

  it('the limits table lists every exported limit with its value', () => {
    const rows = new Map(section('limits').map(([name, value]) => [unquote(name ?? ''), Number(value)]));
    const limits = Object.entries(protocol).filter(([name]) => /^(?:[A-Z_]+_)?MAX_[A-Z_]+$/.test(name));
    expect(limits.length).toBeGreaterThan(10);
    for (const [name, value] of limits) expect(rows.get(name), name).toBe(value);
    expect(rows.size).toBe(limits.length);
  });
});

describe('the committed JSON Schema and the zod schema agree', () => {
  it('on the limits, counted in code points', () => {
    const jsonSchema = fromJsonSchema('chat-event.v1.json');
    const event = JSON.parse(examples()[0]?.text ?? '{}');
    for (const text of ['😀'.repeat(protocol.MAX_TEXT_LENGTH), 'a'.repeat(protocol.MAX_TEXT_LENGTH + 1)]) {
      const viaZod = protocol.chatEventV1Schema.safeParse({ ...event, text }).success;
      expect(jsonSchema.safeParse({ ...event, text }).success).toBe(viaZod);
    }
  });

  it('on arbitrary variations of a valid event', () => {
    const jsonSchema = fromJsonSchema('chat-event.v1.json');
    const base = JSON.parse(examples()[0]?.text ?? '{}');
    const field = fc.constantFrom(
      'id',
      'channel',
      'chatType',
      'peer',
      'sender',
      'text',
      'at',
      'tokens',
      'meta',
      'threadId',
    );
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.constantFrom(null, '', 'dm', 'group', -1, 0, 2 ** 53, 1.5, { kind: 'dm', id: 1 }, { id: 'x' }),
    );
    fc.assert(
      fc.property(fc.dictionary(field, value, { maxKeys: 3 }), (changes) => {
        const candidate = { ...base, ...changes };
        expect(jsonSchema.safeParse(candidate).success).toBe(
          protocol.chatEventV1Schema.safeParse(candidate).success,
        );
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the committed control-event JSON Schema and the zod schema agree', () => {
  const controls = () => examples().filter((e) => e.kind === 'control');

  it('on every example with one required field taken away, and on every type swapped in', () => {
    const jsonSchema = fromJsonSchema('control-event.v1.json');
    for (const example of controls()) {
      const event = JSON.parse(example.text);
      const variants: Record<string, unknown>[] = [event];
      for (const field of Object.keys(event)) {
        const { [field]: _dropped, ...rest } = event;
        variants.push(rest);
      }
      for (const type of [...CONTROL_EVENT_TYPES, 'timer.cancelled']) variants.push({ ...event, type });
      for (const candidate of variants) {
        expect(jsonSchema.safeParse(candidate).success, JSON.stringify(candidate)).toBe(
          protocol.controlEventV1Schema.safeParse(candidate).success,
        );
      }
    }
  });

  it('on the limits, counted in code points', () => {
    const jsonSchema = fromJsonSchema('control-event.v1.json');
    const [timer, , reset] = controls().map((e) => JSON.parse(e.text));
    const cases = [
      ['timerId', protocol.MAX_ID_LENGTH, timer],
      ['trigger', protocol.MAX_NAME_LENGTH, reset],
      ['sessionKey', protocol.MAX_SESSION_KEY_LENGTH, timer],
    ] as const;
    for (const [field, max, event] of cases) {
      for (const value of ['😀'.repeat(max), 'a'.repeat(max + 1), '']) {
        const candidate = { ...event, [field]: value };
        expect(jsonSchema.safeParse(candidate).success, `${field} of ${value.length}`).toBe(
          protocol.controlEventV1Schema.safeParse(candidate).success,
        );
      }
    }
  });

  it('on arbitrary variations of a valid event of each type', () => {
    const jsonSchema = fromJsonSchema('control-event.v1.json');
    const bases = controls().map((e) => JSON.parse(e.text));
    const field = fc.constantFrom('v', 'type', 'id', 'sessionKey', 'at', 'timerId', 'trigger');
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.string({ unit: 'grapheme', maxLength: 80 }),
      fc.constantFrom(null, '', -1, 0, 1, 2, 2 ** 53, 1.5, ...CONTROL_EVENT_TYPES, 'operator'),
    );
    fc.assert(
      fc.property(fc.constantFrom(...bases), fc.dictionary(field, value, { maxKeys: 3 }), (base, changes) => {
        const candidate = { ...base, ...changes };
        expect(jsonSchema.safeParse(candidate).success).toBe(
          protocol.controlEventV1Schema.safeParse(candidate).success,
        );
      }),
      { numRuns: 1000 },
    );
  });
});

describe('pure codecs against Node', () => {
  it('encodeBase64 agrees with Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        expect(encodeBase64(data)).toBe(Buffer.from(data).toString('base64'));
      }),
      { numRuns: 1000 },
    );
  });

  it('decodeUtf8 agrees with a fatal TextDecoder', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 20 }),
        (raw, text) => {
          for (const data of [raw, new Uint8Array(Buffer.from(text, 'utf8'))]) {
            let expected: string | undefined;
            try {
              expected = decoder.decode(data);
            } catch {
              expected = undefined;
            }
            const actual = decodeUtf8(data);
            expect(actual.ok ? actual.text : undefined).toBe(expected);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
