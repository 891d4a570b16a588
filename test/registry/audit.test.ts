// The audit log's chain, on its own: the hash against Python's hashlib and json (ground truth from
// another implementation: the program docs/audit.md gives), the checks of a chain and of an export
// file, how appends are grouped, and retention's argument.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import Fastify from 'fastify';
import { ANONYMOUS } from '../../src/registry/auth/access.js';
import { AuditLog, auditHash, canonicalJson, ChainVerifier, detailText, exportLine, ExportVerifier, GENESIS_HASH, hashInput, toEntryJson, type AuditLink } from '../../src/registry/audit.js';
import { EventBus, type TimedEvent } from '../../src/registry/events.js';
import type { ManagementDeps } from '../../src/registry/management/context.js';
import { emitEvent } from '../../src/registry/management/context.js';
import { silentLogger } from '../../src/shared/index.js';
import { openSqliteMetadataStore, type AuditRecord, type MetadataStore } from '../../src/storage/index.js';
import { tempDir } from '../helpers/env.js';
import { pythonVerify } from '../storage/audit.contract.js';

/** A chain of `n` records, as the store would make them. */
function chain(n: number, start = { seq: 0, hash: GENESIS_HASH }, vary: (i: number) => Partial<AuditLink> = () => ({})): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = start;
  for (let i = 1; i <= n; i++) {
    const link: AuditLink = {
      seq: prev.seq + 1,
      at: 1_714_521_600_000 + i,
      actor: i % 3 === 0 ? null : 'alice',
      client: '10.0.0.7',
      action: 'artifact.push',
      project: 'team',
      resource: `team/app:${i}`,
      outcome: 'succeeded',
      detail: detailText({ tag: `${i}`, repository: 'team/app' }),
      prevHash: prev.hash,
      ...vary(i),
    };
    const r = { ...link, hash: auditHash(link) };
    out.push(r);
    prev = r;
  }
  return out;
}

const verify = (records: readonly AuditRecord[], start?: { seq: number; hash: string }) => {
  const v = new ChainVerifier(start);
  for (const r of records) v.add(r);
  return v.result();
};

describe('the hash', () => {
  test('canonical JSON: keys sorted at every depth, no whitespace, arrays in order, undefined members dropped', () => {
    assert.equal(canonicalJson({ b: 1, a: [3, { d: null, c: 'x' }], e: undefined }), '{"a":[3,{"c":"x","d":null}],"b":1}');
    assert.equal(canonicalJson('a"b\\c\n\u0001é✓😀'), JSON.stringify('a"b\\c\n\u0001é✓😀'));
    // Integer-like keys sort as strings (JSON.stringify alone would put them first, numerically).
    assert.equal(canonicalJson({ b: 1, 10: 2, 9: 3 }), '{"10":2,"9":3,"b":1}');
    assert.equal(canonicalJson(null), 'null');
  });

  test('the detail is kept as canonical JSON of its JSON form; none, or an empty one, is null', () => {
    assert.equal(detailText(undefined), null);
    assert.equal(detailText({}), null);
    assert.equal(detailText({ gone: undefined }), null);
    assert.equal(detailText({ z: 1, a: { y: new Date(0), b: [2, 1] } }), '{"a":{"b":[2,1],"y":"1970-01-01T00:00:00.000Z"},"z":1}');
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    assert.equal(detailText(cycle), '{"unserializable":true}');
  });

  test('what is hashed is the canonical JSON of [seq, at, actor, client, action, project, resource, outcome, detail, prevHash]', () => {
    const odd = ['plain', 'q"uote', 'back\\slash', 'tab\tnew\nline\u0001', 'é✓😀 \u2028', 'lone \ud800 surrogate', ''];
    for (const r of chain(odd.length, undefined, (i) => ({ resource: odd[i - 1]!, actor: i % 2 === 0 ? null : odd[odd.length - i]! }))) {
      const array = [r.seq, r.at, r.actor, r.client, r.action, r.project, r.resource, r.outcome, r.detail === null ? null : JSON.parse(r.detail), r.prevHash];
      assert.equal(hashInput(r), canonicalJson(array));
    }
  });

  test('Python (hashlib, json), running the program of docs/audit.md, agrees: an export verifies, an edited one is named', (t) => {
    const dir = tempDir(t);
    const records = chain(20, undefined, (i) => ({
      // Text that escaping must agree on: quotes, backslashes, controls, non-ASCII, beyond the BMP.
      resource: i === 7 ? 'team/app:"q"\\ \t\u0001 é ✓ 😀 \u2028' : `team/app:${i}`,
      detail: i === 3 ? null : detailText({ zeta: 'ü', alpha: { n: i, list: [3, 1, 2], nothing: null, yes: true }, Upper: 'A', _under: '_' }),
    }));
    const file = join(dir, 'audit.jsonl');
    writeFileSync(file, `${records.map(exportLine).join('\n')}\n`);
    const ok = pythonVerify(t, file);
    if (ok === undefined) return;
    assert.deepEqual(ok, { code: 0, out: 'intact through entry 20\n' });

    const lines = readFileSync(file, 'utf8').split('\n');
    lines[11] = lines[11]!.replace('"succeeded"', '"refused"');
    writeFileSync(file, lines.join('\n'));
    assert.deepEqual(pythonVerify(t, file), { code: 1, out: 'broken at entry 12\n' });
  });
});

describe('checking a chain', () => {
  test('an intact chain, from the genesis or from a checkpoint', () => {
    const records = chain(10);
    assert.deepEqual(verify(records), { ok: true, entries: 10, last: { seq: 10, hash: records[9]!.hash } });
    assert.deepEqual(verify([]), { ok: true, entries: 0 });
    const rest = records.slice(4);
    const checkpoint = { seq: 4, hash: records[3]!.hash };
    assert.deepEqual(verify(rest, checkpoint), { ok: true, entries: 6, checkpoint, last: { seq: 10, hash: records[9]!.hash } });
  });

  test('each way of breaking it is named at the first entry it shows in, and every entry is still counted', () => {
    const records = chain(10);
    const broken = (rs: AuditRecord[], start?: { seq: number; hash: string }) => {
      const r = verify(rs, start);
      assert.equal(r.ok, false);
      assert.equal(r.entries, rs.length);
      return { seq: r.firstBroken!.seq, reason: r.firstBroken!.reason };
    };
    assert.deepEqual(broken(records.map((r) => (r.seq === 6 ? { ...r, resource: 'team/innocent' } : r))), { seq: 6, reason: 'altered' });
    assert.deepEqual(broken(records.map((r) => (r.seq === 6 ? { ...r, detail: '{"tag":"6"}' } : r))), { seq: 6, reason: 'altered' });
    assert.deepEqual(broken(records.map((r) => (r.seq === 6 ? { ...r, at: r.at + 1 } : r))), { seq: 6, reason: 'altered' });
    const rehashed = records.map((r) => (r.seq === 6 ? { ...r, actor: 'mallory', hash: auditHash({ ...r, actor: 'mallory' }) } : r));
    assert.deepEqual(broken(rehashed), { seq: 7, reason: 'broken-link' });
    assert.deepEqual(broken(records.filter((r) => r.seq !== 6)), { seq: 7, reason: 'missing-entries' });
    assert.deepEqual(broken(records.slice(3)), { seq: 4, reason: 'missing-entries' });
    assert.deepEqual(broken(records.slice(3), { seq: 2, hash: records[1]!.hash }), { seq: 4, reason: 'missing-entries' });
    assert.deepEqual(broken(records.slice(3), { seq: 3, hash: records[1]!.hash }), { seq: 4, reason: 'broken-link' });
    assert.deepEqual(broken([records[0]!, records[2]!, records[1]!]), { seq: 3, reason: 'missing-entries' });
    assert.deepEqual(broken([records[0]!, records[1]!, records[1]!]), { seq: 2, reason: 'out-of-order' });
    assert.deepEqual(broken([{ ...records[0]!, prevHash: 'f'.repeat(64) }]), { seq: 1, reason: 'broken-link' });
  });

  test('the messages say what is wrong', () => {
    const records = chain(10);
    assert.match(verify(records.filter((r) => r.seq !== 4 && r.seq !== 5)).firstBroken!.message, /^entries 4 to 5 are missing before entry 6$/);
    assert.match(verify(records.slice(2)).firstBroken!.message, /no checkpoint records a cut/);
    assert.match(verify(records.map((r) => (r.seq === 2 ? { ...r, outcome: 'refused' } : r))).firstBroken!.message, /entry 2 was altered/);
  });
});

test('entries as the API shows them: time from at, detail parsed; a detail or time edited out of shape still shows', () => {
  const [r] = chain(1);
  assert.deepEqual(toEntryJson(r!), { ...r!, time: new Date(r!.at).toISOString(), detail: { repository: 'team/app', tag: '1' } });
  assert.deepEqual(toEntryJson({ ...r!, detail: '{"broken', at: 1e20 }), { ...r!, at: 1e20, time: null, detail: { unparseable: '{"broken' } });
  assert.deepEqual(toEntryJson({ ...r!, detail: '[1]' }).detail, { unparseable: '[1]' });
});

describe('checking an export file', () => {
  const lines = (records: readonly AuditRecord[]) => records.map(exportLine);
  const check = (text: readonly string[]) => {
    const v = new ExportVerifier();
    for (const l of text) v.add(l);
    return v.result();
  };

  test('entries alone, or after a checkpoint line; a blank line is skipped', () => {
    const records = chain(8);
    assert.deepEqual(check(lines(records)), { ok: true, entries: 8, last: { seq: 8, hash: records[7]!.hash } });
    const cp = { seq: 3, hash: records[2]!.hash };
    const withCheckpoint = [JSON.stringify({ checkpoint: { ...cp, time: '2024-05-01T00:00:00.000Z' } }), ...lines(records.slice(3)), ''];
    assert.deepEqual(check(withCheckpoint), { ok: true, entries: 5, checkpoint: cp, last: { seq: 8, hash: records[7]!.hash } });
    // Without its checkpoint line the same entries do not start the chain.
    assert.equal(check(lines(records.slice(3))).firstBroken?.reason, 'missing-entries');
    // The detail's member order in the file does not matter: it is made canonical again.
    const reordered = lines(records).map((l) => l.replace('{"repository":"team/app","tag":"1"}', '{"tag":"1","repository":"team/app"}'));
    assert.notDeepEqual(reordered, lines(records));
    assert.equal(check(reordered).ok, true);
  });

  test('an edited, a missing and a malformed line are named', () => {
    const records = lines(chain(8));
    const edited = records.map((l, i) => (i === 4 ? l.replace('"team/app:5"', '"team/app:x"') : l));
    assert.deepEqual(check(edited).firstBroken?.seq, 5);
    assert.deepEqual(check(records.filter((_, i) => i !== 2)).firstBroken, { seq: 4, reason: 'missing-entries', message: 'entry 3 is missing before entry 4' });
    const bad = check([records[0]!, '{not json', ...records.slice(1)]);
    assert.deepEqual({ seq: bad.firstBroken?.seq, reason: bad.firstBroken?.reason, entries: bad.entries }, { seq: 2, reason: 'malformed', entries: 8 });
    assert.match(check([records[0]!, '{"seq":2,"at":"yesterday"}']).firstBroken!.message, /line 2: entry 2: at is not an integer/);
    assert.match(check([records[0]!, JSON.stringify({ checkpoint: { seq: 1, hash: GENESIS_HASH } })]).firstBroken!.message, /line 2: seq is not a positive integer/);
    assert.match(check(['{"checkpoint":{"seq":"x"}}']).firstBroken!.message, /the checkpoint has no valid seq and hash/);
  });
});

describe('AuditLog', () => {
  const event = (i: number, extra: Partial<TimedEvent> = {}): TimedEvent => ({ at: 1_000 + i, actor: 'alice', client: '10.0.0.7', action: 'login', project: null, resource: 'user alice', outcome: 'succeeded', ...extra });

  /** A SQLite store whose audit appends are counted (and, with `fail`, refused). */
  async function counted(t: TestContext, fail: (resources: readonly string[]) => boolean = () => false): Promise<{ meta: MetadataStore; batches: number[] }> {
    const store = await openSqliteMetadataStore(join(tempDir(t), 'meta.db'));
    t.after(() => store.close());
    const batches: number[] = [];
    const audit: MetadataStore['audit'] = {
      append: (entries, hash) => {
        batches.push(entries.length);
        return fail(entries.map((e) => e.resource)) ? Promise.reject(new Error('refused')) : store.audit.append(entries, hash);
      },
      list: (f) => store.audit.list(f),
      checkpoint: () => store.audit.checkpoint(),
      cut: (...a) => store.audit.cut(...a),
    };
    return { meta: { ...store, audit } as MetadataStore, batches };
  }

  test('events arriving while an append is in flight go together in the next transaction, in order', async (t) => {
    const { meta, batches } = await counted(t);
    const log = new AuditLog({ meta, log: silentLogger, now: () => 0 });
    await Promise.all(Array.from({ length: 1200 }, (_, i) => log.record(event(i, { detail: { i } }))));
    // The first alone, the rest grouped (at most 512 a transaction).
    assert.deepEqual(batches, [1, 512, 512, 175]);
    const rows = await meta.audit.list({ limit: 2000 });
    assert.deepEqual(
      rows.map((r) => JSON.parse(r.detail!).i),
      Array.from({ length: 1200 }, (_, i) => i),
    );
    assert.deepEqual(await log.verify(), { ok: true, entries: 1200, last: { seq: 1200, hash: rows[1199]!.hash } });
    // Entry fields are the event's.
    assert.deepEqual({ ...rows[5]!, hash: undefined, prevHash: undefined }, { seq: 6, at: 1_005, actor: 'alice', client: '10.0.0.7', action: 'login', project: null, resource: 'user alice', outcome: 'succeeded', detail: '{"i":5}', hash: undefined, prevHash: undefined });
  });

  test('an entry the store refuses fails alone; the others of its group are stored', async (t) => {
    const { meta } = await counted(t, (resources) => resources.includes('poison'));
    const log = new AuditLog({ meta, log: silentLogger, now: () => 0 });
    const results = await Promise.allSettled([event(1), event(2), event(3, { resource: 'poison' }), event(4)].map((e) => log.record(e)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((await log.verify()).entries, 3);
  });

  test('flush waits for what was recorded, including what came in while it waited', async (t) => {
    const { meta } = await counted(t);
    const log = new AuditLog({ meta, log: silentLogger, now: () => 0 });
    for (let i = 0; i < 50; i++) void log.record(event(i));
    await log.flush();
    assert.equal((await meta.audit.list({ limit: 100 })).length, 50);
    await log.flush();
  });

  test('retention takes a positive age in milliseconds', async (t) => {
    const { meta } = await counted(t);
    const log = new AuditLog({ meta, log: silentLogger, now: () => 0 });
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) await assert.rejects(log.prune(bad), RangeError);
    assert.deepEqual(await log.prune(1), { kind: 'nothing' });
  });
});

test('emitEvent records what a management request did, as its caller from its client address', async (t) => {
  const store = await openSqliteMetadataStore(':memory:');
  t.after(() => store.close());
  const events = new EventBus(() => 42, silentLogger);
  const audit = new AuditLog({ meta: store, log: silentLogger, now: () => 42 });
  events.add('audit', (e) => audit.record(e));
  const deps = { events, options: { trustProxy: 1 } } as unknown as ManagementDeps;
  const app = Fastify();
  t.after(() => app.close());
  app.decorateRequest('principal');
  app.addHook('onRequest', async (req) => {
    req.principal = req.headers['x-who'] === 'bob' ? { kind: 'user', name: 'bob', admin: false } : ANONYMOUS;
  });
  app.post('/thing', async (req) => {
    await emitEvent(deps, req, { action: 'project.create', project: 'team', resource: 'project team', outcome: 'succeeded', detail: { public: false } });
    return {};
  });
  assert.equal((await app.inject({ method: 'POST', url: '/thing', headers: { 'x-who': 'bob', 'x-forwarded-for': '203.0.113.9' } })).statusCode, 200);
  assert.equal((await app.inject({ method: 'POST', url: '/thing' })).statusCode, 200);
  // Awaited by the route: in the log before the answer.
  const rows = await store.audit.list({ limit: 10 });
  assert.deepEqual(
    rows.map((r) => [r.at, r.actor, r.client, r.action, r.project, r.resource, r.outcome, r.detail]),
    [
      [42, 'bob', '203.0.113.9', 'project.create', 'team', 'project team', 'succeeded', '{"public":false}'],
      [42, null, '127.0.0.1', 'project.create', 'team', 'project team', 'succeeded', '{"public":false}'],
    ],
  );
});
