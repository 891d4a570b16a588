/**
 * The upgrade to the index of scan results, on a database written by the previous schema: results
 * in the JSON forms no release shipped (vulnerability ids and match keys as JSON) are queued for a
 * fresh scan and their JSON columns go; results in the current form keep their state; and the
 * index written with every result answers for new ones. SQLite and the real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { digestOf, type Digest } from '../../src/oci/index.js';
import { openPostgresMetadataStore, openSqliteMetadataStore, PostgresDb, SqliteDb, type MetadataStore, type SqlDb } from '../../src/storage/index.js';
import { encodeRefs } from '../../src/storage/sql/scans.js';
import { MIGRATIONS, migrationSql } from '../../src/storage/sql/schema.js';
import { POSTGRES_URL, tempDir, uniqueSchema } from '../helpers/env.js';

const IMAGE = 'application/vnd.oci.image.config.v1+json';

/** Applies the migrations before the index's, as the build before it left the database. */
async function previousSchema(db: SqlDb): Promise<void> {
  const index = MIGRATIONS.findIndex((_, v) => migrationSql(db.dialect, v).includes('CREATE TABLE scan_images'));
  assert.ok(index > 0);
  await db.run('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
  for (let v = 0; v < index; v++) {
    for (const statement of migrationSql(db.dialect, v).split(/;\s*\n/)) if (statement.trim() !== '') await db.run(statement);
    await db.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [v + 1, 0]);
  }
}

for (const database of ['sqlite', 'postgres'] as const) {
  test(`the scan index migration queues results of unshipped forms for a fresh scan and keeps the rest (${database})`, { timeout: 30_000 }, async (t) => {
    const dir = tempDir(t, 'portcullis-migrate-');
    const schema = uniqueSchema();
    const raw: SqlDb & { close(): Promise<void> } = database === 'sqlite' ? new SqliteDb(join(dir, 'meta.db')) : new PostgresDb({ url: POSTGRES_URL, schema });
    if (raw instanceof PostgresDb) await raw.ensureSchema();
    await previousSchema(raw);
    await raw.run('INSERT INTO projects (name, is_public, created_at) VALUES (?, 0, 0)', ['team']);
    const project = await raw.get<{ id: number }>('SELECT id FROM projects WHERE name = ?', ['team']);
    await raw.run('INSERT INTO repositories (project_id, name, created_at, updated_at) VALUES (?, ?, 0, 0)', [project!.id, 'team/app']);
    const repo = Number((await raw.get<{ id: number }>('SELECT id FROM repositories WHERE name = ?', ['team/app']))!.id);
    const digests: Record<'jsonIds' | 'jsonKeys' | 'current', Digest> = { jsonIds: digestOf(Buffer.from('a')), jsonKeys: digestOf(Buffer.from('b')), current: digestOf(Buffer.from('c')) };
    for (const [label, digest] of Object.entries(digests)) {
      await raw.run(`INSERT INTO manifests (repo_id, digest, media_type, artifact_type, size, total_size, content, pushed_at) VALUES (?, ?, 'application/vnd.oci.image.manifest.v1+json', ?, 2, 2, ?, 0)`, [repo, digest, IMAGE, Buffer.from('{}')]);
      const refs = label === 'jsonIds' ? null : encodeRefs(Uint32Array.from([1, 2]));
      await raw.run(
        `INSERT INTO scan_results (repo_id, digest, db_built_at, scanned_at, critical, high, medium, low, unknown, fixable, secrets, misconfigurations, report_digest, vuln_ids, vuln_refs)
         VALUES (?, ?, '2099-01-01T00:00:00.000Z', 1, 1, 1, 0, 0, 0, 1, 0, 0, ?, ?, ?)`,
        [repo, digest, digest, label === 'jsonIds' ? '["CVE-2099-0001","CVE-2099-0002"]' : '[]', refs],
      );
      if (label === 'jsonKeys') await raw.run(`INSERT INTO scan_match_keys (repo_id, digest, match_keys) VALUES (?, ?, ?)`, [repo, digest, '{"v":1,"keys":[["npm","left-pad","1.3.0",0,1]]}']);
      if (label === 'current') await raw.run(`INSERT INTO scan_match_keys (repo_id, digest, match_keys, key_refs) VALUES (?, ?, '', ?)`, [repo, digest, encodeRefs(Uint32Array.from([7, 2]))]);
    }
    // A finished scan job of the image with JSON keys: queued again by the migration.
    await raw.run(`INSERT INTO jobs (kind, job_key, payload, state, attempts, run_after, created_at, updated_at) VALUES ('scan', ?, '{}', 'done', 1, 0, 0, 0)`, [`team/app@${digests.jsonKeys}`]);
    await raw.close();

    const store: MetadataStore = database === 'sqlite' ? await openSqliteMetadataStore(join(dir, 'meta.db')) : await openPostgresMetadataStore({ url: POSTGRES_URL, schema });
    t.after(async () => {
      await store.close();
      if (database === 'postgres') {
        const db = new PostgresDb({ url: POSTGRES_URL, schema });
        await db.dropSchema().finally(() => db.close());
      }
    });
    for (const label of ['jsonIds', 'jsonKeys'] as const) {
      const job = await store.jobs.get('scan', `team/app@${digests[label]}`);
      assert.equal(job?.state, 'queued', label);
      assert.equal(job?.attempts, 0);
      assert.deepEqual(JSON.parse(job!.payload), { repository: 'team/app', digest: digests[label] }, 'the payload a scan job has');
    }
    assert.equal(await store.jobs.get('scan', `team/app@${digests.current}`), undefined, 'a result in the current form is not scanned again');
    const ids = await store.scans.evaluation('team/app', digests.jsonIds);
    assert.deepEqual([...ids!.vulnerabilities], [], 'no ids until the fresh scan');
    assert.equal(ids!.record.summary.vulnerabilities.critical, 1, 'its summary serves till then');
    assert.equal((await store.scans.evaluation('team/app', digests.jsonKeys))!.keys, undefined);
    const current = await store.scans.evaluation('team/app', digests.current);
    assert.deepEqual([[...current!.vulnerabilities], [...current!.keys!]], [[1, 2], [7, 2]]);
    // The JSON columns are gone.
    const check = database === 'sqlite' ? new SqliteDb(join(dir, 'meta.db')) : new PostgresDb({ url: POSTGRES_URL, schema });
    try {
      await assert.rejects(check.get('SELECT vuln_ids FROM scan_results'));
      await assert.rejects(check.get('SELECT match_keys FROM scan_match_keys'));
    } finally {
      await check.close();
    }

    // A result written now is indexed with it: by key and by vulnerability; deleting the image empties both.
    const [cve, key] = await store.scans.intern(['CVE-2099-0009', '0\u007fnpm\u007fleft-pad\u007f1.3.0']);
    await store.scans.describePackages([{ term: key!, ecosystem: 'npm', name: 'left-pad', version: '1.3.0' }]);
    const summary = { vulnerabilities: { critical: 1, high: 0, medium: 0, low: 0, unknown: 0, fixable: 1 }, secrets: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, misconfigurations: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 } };
    assert.ok(await store.scans.put({ repository: 'team/app', digest: digests.current, dbBuiltAt: 'b', scannedAt: 2, summary, reportDigest: digests.current, warnings: [] }, { vulnerabilities: Uint32Array.from([cve!]), keys: Uint32Array.from([key!, 3]) }));
    const all = { kind: 'all' } as const;
    const byKey = await store.scans.imagesWithKeys([key!], all, { offset: 0, limit: 10 });
    assert.deepEqual([byKey.total, byKey.items.map((h) => [h.digest, h.terms, h.packages])], [1, [[digests.current, [key], [3]]]]);
    assert.deepEqual((await store.scans.findPackages({ names: ['left-pad'], ecosystem: 'npm' }, 10)).map((p) => p.term), [key]);
    assert.equal((await store.scans.imagesWithVulnerability(cve!, all, { offset: 0, limit: 10 })).total, 1);
    assert.equal((await store.scans.imagesWithKeys([key!], { kind: 'projects', projects: ['elsewhere'], includePublic: true }, { offset: 0, limit: 10 })).total, 0, 'out of scope');
    assert.equal(await store.artifacts.deleteRepository('team/app'), true);
    assert.equal((await store.scans.imagesWithKeys([key!], all, { offset: 0, limit: 10 })).total, 0);
    assert.equal((await store.scans.securityTotals(all, [IMAGE])).byVulnerability.size, 0, 'the index rows went with the image');
  });
}
