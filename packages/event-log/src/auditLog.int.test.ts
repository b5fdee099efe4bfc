import { headers } from '@nats-io/transport-node';
import { StreamNames, Subjects } from '@threadline/protocol';
import { describe, expect, it } from 'vitest';
import { type AuditReport, auditLog } from './auditLog.js';
import { RecordHeaders } from './natsSessionLog.js';
import { GENESIS_HASH, recordHash } from './recordHash.js';
import { appendRecords, publishEditedCopy, publishRecords, sessionStreamBed } from './records.support.js';

const TAMPERED = 'agent:main:telegram:direct:tampered';
const CLEAN = 'agent:main:telegram:direct:clean';

const problemsOf = (report: AuditReport, key: string) => report.problems.filter((p) => p.sessionKey === key);

describe('auditLog (real nats-server)', () => {
  const bed = sessionStreamBed();

  /** Two keys of 4 records each, interleaved, plus some bulk; returns the seqs of each. */
  async function twoKeys() {
    const tampered = [];
    const clean = [];
    for (let i = 0; i < 4; i++) {
      tampered.push(...(await appendRecords(bed.log, TAMPERED, [{ text: `t${i}` }])));
      clean.push(...(await appendRecords(bed.log, CLEAN, [{ text: `c${i}` }])));
    }
    await publishRecords(bed.js, ['agent:main:bulk:1', 'agent:main:bulk.2 *'], 10);
    return { tampered: tampered.map((r) => r.seq), clean: clean.map((r) => r.seq) };
  }

  it('given untouched chains, when every key and one key are audited, then the report is clean and counts keys and records', async () => {
    await twoKeys();
    const progress: [number, number][] = [];
    const all = await auditLog(bed.nc, { onProgress: (d, t) => progress.push([d, t]) });
    expect(all).toEqual({ ok: true, keys: 4, records: 28, problems: [] });
    expect(progress.at(-1)).toEqual([28, 28]);
    expect(await auditLog(bed.nc, { sessionKey: CLEAN })).toEqual({
      ok: true,
      keys: 1,
      records: 4,
      problems: [],
    });
    expect(await auditLog(bed.nc, { sessionKey: 'agent:main:bulk.2 *' })).toMatchObject({
      ok: true,
      records: 10,
    });
    expect(await auditLog(bed.nc, { sessionKey: 'agent:main:nobody' })).toEqual({
      ok: true,
      keys: 0,
      records: 0,
      problems: [],
    });
    expect((await bed.jsm.streams.info(StreamNames.sessions)).state.consumer_count).toBe(0);
  });

  it('given an empty stream, when audited, then it is clean with nothing counted', async () => {
    expect(await auditLog(bed.nc)).toEqual({ ok: true, keys: 0, records: 0, problems: [] });
  });

  it('given a record deleted directly in the stream, when audited, then the next record of its key is reported removed, and the other key stays clean', async () => {
    const { tampered } = await twoKeys();
    await bed.jsm.streams.deleteMessage(StreamNames.sessions, tampered[1] as number);

    for (const report of [await auditLog(bed.nc), await auditLog(bed.nc, { sessionKey: TAMPERED })]) {
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        {
          sessionKey: TAMPERED,
          seq: tampered[2],
          kind: 'removed',
          detail: expect.stringContaining(`the record before sequence ${tampered[2]} is missing`),
        },
      ]);
    }
    expect(await auditLog(bed.nc, { sessionKey: CLEAN })).toMatchObject({ ok: true, problems: [] });
  });

  it('given an edited copy of a record published directly with its original headers, when audited, then the copy is reported edited at its sequence', async () => {
    const { tampered } = await twoKeys();
    const copy = await publishEditedCopy(bed, tampered[1] as number, { text: 'not what was said' });

    for (const report of [await auditLog(bed.nc), await auditLog(bed.nc, { sessionKey: TAMPERED })]) {
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual({
        sessionKey: TAMPERED,
        seq: copy,
        kind: 'edited',
        detail: expect.stringMatching(/^content hashes to [0-9a-f]{64}, stored hash is [0-9a-f]{64}$/),
      });
      // Everything found is at the copy: the chain through the original records is intact.
      expect(report.problems.every((p) => p.sessionKey === TAMPERED && p.seq === copy)).toBe(true);
      expect(problemsOf(report, CLEAN)).toEqual([]);
    }
  });

  it('given a record edited in place (deleted, and an edited copy published under its headers), when audited, then the copy is edited and the chain reads out of order around it', async () => {
    const { tampered } = await twoKeys();
    const copy = await publishEditedCopy(bed, tampered[1] as number, { text: 'rewritten' });
    await bed.jsm.streams.deleteMessage(StreamNames.sessions, tampered[1] as number);
    // JetStream cannot change a message in place: an "edit" removes it and stores a copy later in the
    // stream. The copy fails its own hash, and the record after the original links to a hash that is now
    // at the end of the key's chain: both places are named.
    const report = await auditLog(bed.nc);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.sessionKey, p.seq, p.kind])).toEqual([
      [TAMPERED, tampered[2], 'broken-link'],
      [TAMPERED, copy, 'edited'],
      [TAMPERED, copy, 'broken-link'],
    ]);
    expect(problemsOf(report, CLEAN)).toEqual([]);
    expect((await auditLog(bed.nc, { sessionKey: TAMPERED })).problems).toEqual(report.problems);
  });

  it('given a record whose body is stored as equal JSON in another form (key order), when audited, then its chain is intact', async () => {
    // The audit hashes a stored body as it is stored (the logs store canonical JSON); a body stored in any
    // other form must still be judged by the definition, which hashes the parsed value.
    const key = 'agent:main:telegram:direct:loose';
    const body = { text: 'hi', at: 1, nested: { z: 1, a: 2 } };
    const fields = {
      sessionKey: key,
      id: 'loose-1',
      at: 1_767_225_600_000,
      schemaVersion: 1,
      body,
      prevHash: GENESIS_HASH,
    };
    const h = headers();
    h.set(RecordHeaders.schemaVersion, '1');
    h.set(RecordHeaders.at, String(fields.at));
    h.set(RecordHeaders.prevHash, GENESIS_HASH);
    h.set(RecordHeaders.hash, recordHash(fields));
    h.set(RecordHeaders.prevSeq, '0');
    await bed.js.publish(Subjects.session(key), JSON.stringify(body), { msgID: fields.id, headers: h });
    await appendRecords(bed.log, key, [{ text: 'next' }]);

    for (const report of [await auditLog(bed.nc), await auditLog(bed.nc, { sessionKey: key })])
      expect(report).toMatchObject({ ok: true, records: 2, problems: [] });
  });

  it('given a message on a session subject that is not a record, when audited, then it is reported unreadable instead of failing the audit', async () => {
    const { tampered } = await twoKeys();
    const bad = await bed.js.publish(Subjects.session(TAMPERED), 'not json at all');
    await appendRecords(bed.log, CLEAN, [{ text: 'after' }]);

    const all = await auditLog(bed.nc);
    expect(all.ok).toBe(false);
    expect(all.records).toBe(30);
    expect(all.problems).toEqual([
      {
        sessionKey: TAMPERED,
        seq: bad.seq,
        kind: 'unreadable',
        detail: expect.stringContaining(`sequence ${bad.seq} is not a session record`),
      },
    ]);
    expect((await auditLog(bed.nc, { sessionKey: TAMPERED })).problems).toEqual(all.problems);
    expect(tampered).toHaveLength(4);
  });

  it('given the front of the stream removed, as retention removes it, when audited, then keys whose first records went are checked from their first retained record and counted as truncated', async () => {
    const { tampered, clean } = await twoKeys();
    // Records 0 and 1 of both keys go; what retention (a maximum age) does is remove such a prefix.
    await bed.jsm.streams.purge(StreamNames.sessions, { seq: tampered[2] as number });

    const all = await auditLog(bed.nc);
    expect(all).toEqual({
      ok: true,
      keys: 4,
      records: 24,
      problems: [],
      truncated: { keys: 2, firstSeq: tampered[2] },
    });
    expect(await auditLog(bed.nc, { sessionKey: CLEAN })).toEqual({
      ok: true,
      keys: 1,
      records: 2,
      problems: [],
      truncated: { keys: 1, firstSeq: tampered[2] },
    });
    expect(clean).toHaveLength(4);
  });

  it('given the front removed and also a record deleted inside what is retained, when audited, then that deletion is still reported removed', async () => {
    const { tampered } = await twoKeys();
    await bed.jsm.streams.purge(StreamNames.sessions, { seq: tampered[1] as number });
    // Record 1 of the key stays the first retained; record 2 goes from inside the retained range.
    await bed.jsm.streams.deleteMessage(StreamNames.sessions, tampered[2] as number);

    for (const report of [await auditLog(bed.nc), await auditLog(bed.nc, { sessionKey: TAMPERED })]) {
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        { sessionKey: TAMPERED, seq: tampered[3], kind: 'removed', detail: expect.any(String) },
      ]);
    }
    // Now its first retained record goes too: the one after it says its predecessor was inside the range.
    await bed.jsm.streams.deleteMessage(StreamNames.sessions, tampered[1] as number);
    expect((await auditLog(bed.nc, { sessionKey: TAMPERED })).problems).toEqual([
      { sessionKey: TAMPERED, seq: tampered[3], kind: 'removed', detail: expect.any(String) },
    ]);
  });

  it('given records written without Tl-Prev-Seq, when the front is removed, then the cut is recognised only while the stream has no deletion inside it', async () => {
    const base = (await bed.jsm.streams.info(StreamNames.sessions)).state.last_seq + 1;
    const LEGACY = 'agent:main:legacy';
    await publishRecords(bed.js, [LEGACY], 3);
    await bed.jsm.streams.purge(StreamNames.sessions, { seq: base + 1 });
    expect(await auditLog(bed.nc)).toMatchObject({ ok: true, problems: [], truncated: { keys: 1 } });

    // A deletion anywhere inside the stream: the predecessor could have been there, so it is reported.
    const other = await appendRecords(bed.log, CLEAN, [{ text: 'a' }, { text: 'b' }, { text: 'c' }]);
    await bed.jsm.streams.deleteMessage(StreamNames.sessions, other[1]?.seq as number);
    const report = await auditLog(bed.nc);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { sessionKey: LEGACY, seq: base + 1, kind: 'removed', detail: expect.any(String) },
      { sessionKey: CLEAN, seq: other[2]?.seq, kind: 'removed', detail: expect.any(String) },
    ]);
    expect(report.truncated).toBeUndefined();
  });

  it('given a key that cannot be a subject, when audited, then it is refused', async () => {
    await expect(auditLog(bed.nc, { sessionKey: 'k'.repeat(3_000) })).rejects.toThrow(/sessionKey/);
  });
});
