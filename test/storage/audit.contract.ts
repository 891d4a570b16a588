/**
 * The audit log's store, run identically against each backend (sqlite.test.ts, postgres.test.ts):
 * the chain its appends make, under concurrency from another replica; listing; retention's cut;
 * and what checking the chain (AuditLog.verify, the registry's) finds after the database was
 * changed behind the application's back, with raw SQL. Also the audit tests' one shared helper:
 * the Python verifier of docs/audit.md, run on export files.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, test, type TestContext } from 'node:test';
import { AuditLog, auditHash, GENESIS_HASH } from '../../src/registry/audit.js';
import { silentLogger } from '../../src/shared/index.js';
import type { AuditEntry, MetadataStore, SqlDb } from '../../src/storage/index.js';
import { requireTools, tempDir } from '../helpers/env.js';

/** How another replica opens the same database. */
export type ReplicaTarget = { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string; readonly schema: string };

export interface AuditHarness {
  readonly store: MetadataStore;
  /** Raw SQL on the same database, as an intruder with database access would have it. */
  readonly raw: SqlDb;
  readonly replica: ReplicaTarget;
  close(): Promise<void>;
}

export type OpenAuditHarness = () => Promise<AuditHarness>;

function entry(n: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return { at: 1_000 + n, actor: 'alice', client: '10.0.0.1', action: 'artifact.push', project: 'team', resource: `team/app:${n}`, outcome: 'succeeded', detail: `{"n":${n}}`, ...extra };
}

async function harness(t: TestContext, open: OpenAuditHarness): Promise<AuditHarness & { log: AuditLog; now: { ms: number } }> {
  const h = await open();
  t.after(() => h.close());
  const now = { ms: 10_000 };
  return { ...h, now, log: new AuditLog({ meta: h.store, log: silentLogger, now: () => now.ms, pageSize: 7 }) };
}

/** Appends `n` entries one transaction each. */
async function fill(store: MetadataStore, n: number, from = 1): Promise<void> {
  for (let i = from; i < from + n; i++) await store.audit.append([entry(i)], auditHash);
}

/**
 * `count` appends, all in flight at once, from a store of its own in a worker thread: another
 * replica (a thread, so that its waits on SQLite's lock do not stop this one).
 */
function appendFromReplica(target: ReplicaTarget, count: number): Promise<void> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const storage = await import(workerData.storage);
      const { auditHash } = await import(workerData.audit);
      const t = workerData.target;
      const store = t.kind === 'sqlite' ? await storage.openSqliteMetadataStore(t.path) : await storage.openPostgresMetadataStore({ url: t.url, schema: t.schema });
      try {
        await Promise.all(Array.from({ length: workerData.count }, (_, i) =>
          store.audit.append([{ at: 5000 + i, actor: 'replica', client: null, action: 'artifact.push', project: 'team', resource: 'team/other:' + i, outcome: 'succeeded', detail: null }], auditHash)));
      } finally {
        await store.close();
      }
    })().then(() => parentPort.postMessage('done'), (err) => parentPort.postMessage('error: ' + (err && err.stack || err)));
  `;
  const workerData = { storage: new URL('../../src/storage/index.js', import.meta.url).href, audit: new URL('../../src/registry/audit.js', import.meta.url).href, target, count };
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData });
    w.once('message', (m: string) => (m === 'done' ? resolve() : reject(new Error(m))));
    w.once('error', reject);
  });
}

/** The Python program of docs/audit.md, as the page shows it. */
function docsVerifier(): string {
  const doc = readFileSync(new URL('../../../docs/audit.md', import.meta.url), 'utf8');
  const m = /<!-- verify-audit\.py -->\n```python\n([\s\S]*?)```/.exec(doc);
  assert.ok(m !== null, 'docs/audit.md has no verify-audit.py block');
  return m[1]!;
}

/** Runs the docs' Python verifier on an export file: its exit code and output. */
export function pythonVerify(t: TestContext, file: string): { code: number; out: string } | undefined {
  if (!requireTools(t, 'python3')) return undefined;
  const script = join(tempDir(t), 'verify-audit.py');
  writeFileSync(script, docsVerifier());
  try {
    return { code: 0, out: execFileSync('python3', [script, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

export function auditStoreContract(name: string, open: OpenAuditHarness): void {
  describe(`AuditStore contract: ${name}`, () => {
    test('appends are links of one chain: seq from 1, each carrying the hash of the one before, the first 64 zeros', async (t) => {
      const { store } = await harness(t, open);
      const first = await store.audit.append([entry(1), entry(2), entry(3)], auditHash);
      const more = await store.audit.append([entry(4, { actor: null, client: null, project: null, detail: null })], auditHash);
      const all = [...first, ...more];
      assert.deepEqual(
        all.map((r) => r.seq),
        [1, 2, 3, 4],
      );
      assert.equal(all[0]!.prevHash, GENESIS_HASH);
      for (let i = 1; i < all.length; i++) assert.equal(all[i]!.prevHash, all[i - 1]!.hash);
      for (const r of all) assert.equal(r.hash, auditHash(r));
      // What is read back is what was hashed, byte for byte (detail as text, null as null).
      assert.deepEqual(await store.audit.list({ limit: 10 }), all);
      assert.equal(await store.audit.append([], auditHash).then((r) => r.length), 0);
    });

    test('a batch larger than one INSERT takes (256 rows) stays one chain', async (t) => {
      const { store, log } = await harness(t, open);
      const records = await store.audit.append(
        Array.from({ length: 700 }, (_, i) => entry(i + 1)),
        auditHash,
      );
      assert.deepEqual(
        records.map((r) => r.seq),
        Array.from({ length: 700 }, (_, i) => i + 1),
      );
      assert.deepEqual(await log.verify(), { ok: true, entries: 700, last: { seq: 700, hash: records[699]!.hash } });
    });

    test('parallel appends from this store and from another replica on the same database keep one unbroken chain', { timeout: 60_000 }, async (t) => {
      const { store, replica, log } = await harness(t, open);
      const here = Promise.all(Array.from({ length: 150 }, (_, i) => store.audit.append([entry(i + 1)], auditHash)));
      // And through the audit log, which groups what arrives while a transaction is in flight.
      const grouped = Promise.all(Array.from({ length: 150 }, (_, i) => log.record({ at: 3_000 + i, actor: 'carol', client: '10.0.0.2', action: 'login', project: null, resource: 'user carol', outcome: 'failed', detail: { n: i } })));
      await Promise.all([here, grouped, appendFromReplica(replica, 150), appendFromReplica(replica, 100)]);
      const result = await log.verify();
      assert.equal(result.ok, true, JSON.stringify(result.firstBroken));
      assert.equal(result.entries, 550);
      const seqs: number[] = [];
      for (let after = 0; ; ) {
        const page = await store.audit.list({ after, limit: 100 });
        seqs.push(...page.map((r) => r.seq));
        if (page.length < 100) break;
        after = page[page.length - 1]!.seq;
      }
      assert.deepEqual(
        seqs,
        Array.from({ length: 550 }, (_, i) => i + 1),
      );
    });

    test('list filters by project, actor, action and time, oldest first, and pages with after and limit', async (t) => {
      const { store } = await harness(t, open);
      await store.audit.append(
        [
          entry(1, { project: 'team', actor: 'alice', action: 'artifact.push', at: 100 }),
          entry(2, { project: 'open', actor: 'bob', action: 'artifact.delete', at: 200 }),
          entry(3, { project: 'team', actor: 'bob', action: 'artifact.push', at: 300 }),
          entry(4, { project: null, actor: null, action: 'gc', at: 400 }),
          entry(5, { project: 'team', actor: 'alice', action: 'tag.delete', at: 500 }),
        ],
        auditHash,
      );
      const seqs = async (f: Parameters<MetadataStore['audit']['list']>[0]) => (await store.audit.list(f)).map((r) => r.seq);
      assert.deepEqual(await seqs({ limit: 10 }), [1, 2, 3, 4, 5]);
      assert.deepEqual(await seqs({ limit: 10, project: 'team' }), [1, 3, 5]);
      assert.deepEqual(await seqs({ limit: 10, actor: 'bob' }), [2, 3]);
      assert.deepEqual(await seqs({ limit: 10, action: 'artifact.push' }), [1, 3]);
      assert.deepEqual(await seqs({ limit: 10, since: 300 }), [3, 4, 5]);
      assert.deepEqual(await seqs({ limit: 10, project: 'team', actor: 'alice', since: 200 }), [5]);
      assert.deepEqual(await seqs({ limit: 2 }), [1, 2]);
      assert.deepEqual(await seqs({ limit: 2, after: 2 }), [3, 4]);
      assert.deepEqual(await seqs({ limit: 2, after: 4 }), [5]);
      assert.deepEqual(await seqs({ limit: 2, after: 5 }), []);
      assert.deepEqual(await seqs({ limit: 10, project: 'team', after: 1 }), [3, 5]);
    });

    test('cut: records the checkpoint, deletes up to it and appends its own entry, in one step; a wrong hash changes nothing', async (t) => {
      const { store } = await harness(t, open);
      const records = await store.audit.append(
        Array.from({ length: 6 }, (_, i) => entry(i + 1)),
        auditHash,
      );
      assert.equal(await store.audit.checkpoint(), undefined);
      const own = entry(0, { actor: null, action: 'audit.prune', resource: 'audit log', detail: null });
      assert.equal(await store.audit.cut({ seq: 3, hash: records[2]!.prevHash }, own, auditHash, 50), undefined, 'a hash that is not the entry’s');
      assert.equal(await store.audit.cut({ seq: 99, hash: records[2]!.hash }, own, auditHash, 50), undefined, 'no such entry');
      assert.equal((await store.audit.list({ limit: 100 })).length, 6);
      assert.equal(await store.audit.checkpoint(), undefined);

      const cut = await store.audit.cut({ seq: 3, hash: records[2]!.hash }, own, auditHash, 50);
      assert.ok(cut !== undefined);
      assert.equal(cut.deleted, 3);
      assert.deepEqual({ seq: cut.record.seq, prevHash: cut.record.prevHash, action: cut.record.action }, { seq: 7, prevHash: records[5]!.hash, action: 'audit.prune' });
      assert.deepEqual(await store.audit.checkpoint(), { seq: 3, hash: records[2]!.hash, createdAt: 50 });
      assert.deepEqual(
        (await store.audit.list({ limit: 100 })).map((r) => r.seq),
        [4, 5, 6, 7],
      );

      // Cutting everything: the next entry follows the checkpoint.
      const last = (await store.audit.list({ limit: 100 })).at(-1)!;
      const again = await store.audit.cut({ seq: last.seq, hash: last.hash }, own, auditHash, 60);
      assert.ok(again !== undefined);
      assert.equal(again.deleted, 4);
      assert.deepEqual({ seq: again.record.seq, prevHash: again.record.prevHash }, { seq: 8, prevHash: last.hash });
      assert.deepEqual(await store.audit.checkpoint(), { seq: 7, hash: last.hash, createdAt: 60 });
    });

    describe('checking the chain (AuditLog.verify) against changes made with raw SQL', () => {
      test('an intact chain verifies, across pages', async (t) => {
        const { store, log } = await harness(t, open);
        await fill(store, 20);
        const result = await log.verify();
        assert.equal(result.ok, true);
        assert.equal(result.entries, 20);
        assert.equal(result.last?.seq, 20);
        assert.deepEqual(await log.verify(), result, 'checking changes nothing');
      });

      test('a row whose resource was edited is named by its seq', async (t) => {
        const { store, raw, log } = await harness(t, open);
        await fill(store, 20);
        assert.equal(await raw.run('UPDATE audit_log SET resource = ? WHERE seq = ?', ['team/innocent:1', 9]), 1);
        const result = await log.verify();
        assert.equal(result.ok, false);
        assert.equal(result.entries, 20);
        assert.deepEqual({ seq: result.firstBroken?.seq, reason: result.firstBroken?.reason }, { seq: 9, reason: 'altered' });
      });

      test('a row whose outcome was edited is named by its seq', async (t) => {
        const { store, raw, log } = await harness(t, open);
        await fill(store, 10);
        await raw.run("UPDATE audit_log SET outcome = 'refused' WHERE seq = ?", [1]);
        assert.deepEqual((await log.verify()).firstBroken?.seq, 1);
      });

      test('an edited row whose hash was computed again breaks the next link', async (t) => {
        const { store, raw, log } = await harness(t, open);
        await fill(store, 10);
        const [row] = await store.audit.list({ after: 4, limit: 1 });
        const forged = { ...row!, actor: 'mallory' };
        await raw.run('UPDATE audit_log SET actor = ?, hash = ? WHERE seq = ?', ['mallory', auditHash(forged), 5]);
        const result = await log.verify();
        assert.deepEqual({ seq: result.firstBroken?.seq, reason: result.firstBroken?.reason }, { seq: 6, reason: 'broken-link' });
      });

      test('a row deleted in the middle is detected at the entry after it', async (t) => {
        const { store, raw, log } = await harness(t, open);
        await fill(store, 10);
        await raw.run('DELETE FROM audit_log WHERE seq = ?', [7]);
        const result = await log.verify();
        assert.deepEqual({ seq: result.firstBroken?.seq, reason: result.firstBroken?.reason }, { seq: 8, reason: 'missing-entries' });
        assert.match(result.firstBroken!.message, /entry 7 is missing/);
      });

      test('the oldest rows deleted without a checkpoint are detected', async (t) => {
        const { store, raw, log } = await harness(t, open);
        await fill(store, 10);
        await raw.run('DELETE FROM audit_log WHERE seq <= ?', [3]);
        assert.deepEqual((await log.verify()).firstBroken?.reason, 'missing-entries');
      });

      test('retention: prune deletes what is older, at a checkpoint; the chain verifies from it and grows on', async (t) => {
        const { store, log, now } = await harness(t, open);
        await fill(store, 30); // at 1,001 … 1,030
        now.ms = 1_020 + 500;
        const outcome = await log.prune(500); // older than 1,020: entries 1 to 19
        assert.equal(outcome.kind, 'pruned');
        assert.ok(outcome.kind === 'pruned');
        assert.equal(outcome.deleted, 19);
        assert.equal(outcome.checkpoint.seq, 19);
        const rows = await store.audit.list({ limit: 100 });
        assert.equal(rows[0]!.seq, 20);
        assert.deepEqual(rows.at(-1)!.action, 'audit.prune');
        assert.deepEqual(JSON.parse(rows.at(-1)!.detail!), { before: new Date(1_020).toISOString(), entries: 19, hash: outcome.checkpoint.hash, through: 19 });
        const result = await log.verify();
        assert.equal(result.ok, true, JSON.stringify(result.firstBroken));
        assert.deepEqual(result.checkpoint, outcome.checkpoint);
        assert.equal(result.entries, 12);
        // Nothing older is left: a second run cuts nothing.
        assert.deepEqual(await log.prune(500), { kind: 'nothing' });
        await log.record({ at: 2_000, actor: 'bob', client: null, action: 'gc', project: null, resource: 'registry', outcome: 'succeeded' });
        assert.equal((await log.verify()).ok, true);
        // Everything older: the chain is cut through its newest entry and goes on from the checkpoint.
        now.ms = 1_000_000;
        const all = await log.prune(1);
        assert.equal(all.kind === 'pruned' && all.deleted, 13);
        const after = await log.verify();
        assert.deepEqual({ ok: after.ok, entries: after.entries }, { ok: true, entries: 1 });
        assert.equal(after.last?.seq, 33);
      });

      test('retention keeps entries that do not verify (the evidence) and deletes nothing', async (t) => {
        const { store, raw, log, now } = await harness(t, open);
        await fill(store, 10);
        await raw.run("UPDATE audit_log SET resource = 'x' WHERE seq = ?", [4]);
        now.ms = 1_000_000;
        const outcome = await log.prune(1);
        assert.equal(outcome.kind, 'refused');
        assert.ok(outcome.kind === 'refused');
        assert.equal(outcome.broken.seq, 4);
        assert.equal((await store.audit.list({ limit: 100 })).length, 10);
        assert.equal(await store.audit.checkpoint(), undefined);
      });

      test('a chain cut at a checkpoint whose start was deleted further is detected', async (t) => {
        const { store, raw, log, now } = await harness(t, open);
        await fill(store, 10);
        now.ms = 1_005 + 10;
        assert.equal((await log.prune(10)).kind, 'pruned'); // through 4
        await raw.run('DELETE FROM audit_log WHERE seq = ?', [5]);
        const result = await log.verify();
        assert.deepEqual({ seq: result.firstBroken?.seq, reason: result.firstBroken?.reason }, { seq: 6, reason: 'missing-entries' });
      });
    });
  });
}
