// The audit log through a real server, on both databases: what a push and a delete leave (among
// the other events the log holds: logins, projects, users, members), the listing's filters, paging
// and authorization, the chain's check and the export (checked again by the Python program of
// docs/audit.md), an edited row found by its seq, and retention's cut.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import { AuditLog, ExportVerifier, GENESIS_HASH, type AuditEntryJson, type ChainVerification } from '../../src/registry/audit.js';
import { silentLogger } from '../../src/shared/index.js';
import { openPostgresMetadataStore, openSqliteMetadataStore, PostgresDb, SqliteDb, type SqlDb, type SqlMetadataStore } from '../../src/storage/index.js';
import { POSTGRES_URL, tempDir } from '../helpers/env.js';
import { addMember, basicAuth, createProject, createUser, startTestServer, type TestServer } from '../helpers/server.js';
import { pythonVerify } from '../storage/audit.contract.js';
import { apiError, call, okJson, pushImage } from './management/fixtures.js';

interface Page {
  entries: AuditEntryJson[];
  next: number | null;
  checkpoint: { seq: number; hash: string; time: string } | null;
}

/** The database behind the server, opened a second time: raw SQL, and a store of its own. */
interface Behind {
  readonly raw: SqlDb;
  readonly store: SqlMetadataStore;
}

async function behind(t: TestContext, s: TestServer, database: 'sqlite' | 'postgres'): Promise<Behind> {
  let raw: SqlDb;
  let store: SqlMetadataStore;
  if (database === 'sqlite') {
    const path = join(s.dataDir, 'portcullis.db');
    [raw, store] = [new SqliteDb(path), await openSqliteMetadataStore(path)];
  } else {
    // The test server's schema: the one of this process holding an audit log (one server at a time here).
    const finder = new PostgresDb({ url: POSTGRES_URL, schema: 'public' });
    const rows = await finder.all<{ schema: string }>("SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'audit_log' AND table_schema LIKE ?", [`pc_test_${process.pid}_%`]);
    await finder.close();
    assert.equal(rows.length, 1, `schemas of this process: ${JSON.stringify(rows)}`);
    const schema = rows[0]!.schema;
    [raw, store] = [new PostgresDb({ url: POSTGRES_URL, schema }), await openPostgresMetadataStore({ url: POSTGRES_URL, schema })];
  }
  t.after(async () => {
    await raw.close();
    await store.close();
  });
  return { raw, store };
}

/** Entries appear once their append commits, just after the request that caused them answered. */
async function entriesUntil(s: TestServer, query: string, done: (p: Page) => boolean): Promise<Page> {
  for (let i = 0; ; i++) {
    const page = await okJson<Page>(await call(s, s.adminAuth, 'GET', `/api/v1/audit${query}`));
    if (done(page) || i === 100) return page;
    await sleep(20);
  }
}

async function exportOf(s: TestServer): Promise<string> {
  const res = await call(s, s.adminAuth, 'GET', '/api/v1/audit/export');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/x-ndjson/);
  return res.text();
}

/** The whole log (every event of the bus lands in it: logins, projects, users, members, …). */
async function wholeLog(s: TestServer): Promise<AuditEntryJson[]> {
  const page = await okJson<Page>(await call(s, s.adminAuth, 'GET', '/api/v1/audit?limit=1000'));
  assert.equal(page.next, null, 'the log fits one page');
  return page.entries;
}

/** The seqs run 1, 2, … with each entry linked to the one before: an uncut chain as the server lists it. */
function assertUncutChain(entries: readonly AuditEntryJson[]): void {
  assert.deepEqual(
    entries.map((e) => e.seq),
    entries.map((_, i) => i + 1),
  );
  entries.forEach((e, i) => assert.equal(e.prevHash, i === 0 ? GENESIS_HASH : entries[i - 1]!.hash, `entry ${e.seq}`));
}

function checkExport(text: string): ChainVerification {
  const v = new ExportVerifier();
  for (const line of text.split('\n')) v.add(line);
  return v.result();
}

for (const database of ['sqlite', 'postgres'] as const) {
  describe(`the audit log over HTTP (${database})`, () => {
    test('a push and a delete are recorded with actor, client, project, resource and outcome; the chain verifies and exports', { timeout: 60_000 }, async (t) => {
      const s = await startTestServer(t, { database });
      await createProject(s, 'team');
      const image = await pushImage(s, 'team/app', '1.0');
      const pushed = await entriesUntil(s, '?action=artifact.push', (p) => p.entries.length === 1);
      const e = pushed.entries[0]!;
      assert.deepEqual(
        { actor: e.actor, client: e.client, action: e.action, project: e.project, resource: e.resource, outcome: e.outcome },
        { actor: 'admin', client: '127.0.0.1', action: 'artifact.push', project: 'team', resource: `team/app@${image.digest}`, outcome: 'succeeded' },
      );
      assert.deepEqual(e.detail, { digest: image.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', repository: 'team/app', tag: '1.0', via: 'client' });
      assert.equal(e.time, new Date(e.at).toISOString());
      assert.match(e.hash, /^[0-9a-f]{64}$/);
      assert.equal(pushed.next, null);
      assert.equal(pushed.checkpoint, null);

      const del = await call(s, s.adminAuth, 'DELETE', '/api/v1/projects/team/repositories/app/artifacts/1.0');
      assert.equal(del.status, 204);
      const all = await entriesUntil(s, '', (p) => p.entries.some((x) => x.action === 'artifact.delete'));
      assertUncutChain(all.entries);
      // The project's story, in order: the admin created it, pushed, deleted; the delete is the newest entry.
      assert.deepEqual(
        all.entries.filter((x) => x.project === 'team').map((x) => [x.actor, x.action, x.resource, x.outcome]),
        [
          ['admin', 'project.create', 'project team', 'succeeded'],
          ['admin', 'artifact.push', `team/app@${image.digest}`, 'succeeded'],
          ['admin', 'artifact.delete', `team/app@${image.digest}`, 'succeeded'],
        ],
      );
      const [pushEntry, deleteEntry] = all.entries.slice(-2);
      assert.deepEqual([pushEntry!.seq, pushEntry!.action, deleteEntry!.action], [e.seq, 'artifact.push', 'artifact.delete']);
      assert.equal(deleteEntry!.prevHash, pushEntry!.hash);
      // The admin's first request checked the credentials: a login before anything it did.
      const firstLogin = all.entries.findIndex((x) => x.action === 'login' && x.actor === 'admin' && x.outcome === 'succeeded');
      assert.ok(firstLogin >= 0 && firstLogin < all.entries.findIndex((x) => x.action === 'project.create'), JSON.stringify(all.entries.map((x) => x.action)));
      const last = all.entries[all.entries.length - 1]!;

      const verified = await okJson<ChainVerification>(await call(s, s.adminAuth, 'GET', '/api/v1/audit/verify'));
      assert.deepEqual(verified, { ok: true, entries: all.entries.length, last: { seq: last.seq, hash: last.hash } });

      const text = await exportOf(s);
      const lines = text.trimEnd().split('\n');
      assert.deepEqual(
        lines.map((l) => JSON.parse(l) as AuditEntryJson),
        all.entries,
      );
      assert.deepEqual(checkExport(text), verified);
      const file = join(tempDir(t), 'audit.jsonl');
      writeFileSync(file, text);
      const py = pythonVerify(t, file);
      if (py !== undefined) assert.deepEqual(py, { code: 0, out: `intact through entry ${last.seq}\n` });
    });

    test('filters, paging with next, since in RFC 3339, and refused queries', { timeout: 60_000 }, async (t) => {
      const s = await startTestServer(t, { database });
      const before = new Date(Date.now() - 1000).toISOString();
      await createProject(s, 'team');
      await createProject(s, 'other');
      await createUser(s, 'dev1', 'dev1-password');
      await addMember(s, 'team', 'dev1', 'developer');
      const [a, b, c] = [await pushImage(s, 'team/app', 'a'), await pushImage(s, 'other/app', 'b'), await pushImage(s, 'team/app', 'c', { auth: basicAuth('dev1', 'dev1-password') })];
      await entriesUntil(s, '?action=artifact.push', (p) => p.entries.length === 3);

      // The whole log, and the pushes in it: each filter below must answer the entries that match, in order.
      const all = await wholeLog(s);
      assertUncutChain(all);
      const seqOf = (resource: string) => {
        const found = all.filter((e) => e.action === 'artifact.push' && e.resource === resource);
        assert.equal(found.length, 1, resource);
        return found[0]!.seq;
      };
      const [pa, pb, pc] = [seqOf(`team/app@${a.digest}`), seqOf(`other/app@${b.digest}`), seqOf(`team/app@${c.digest}`)];
      assert.ok(pa < pb && pb < pc);
      const where = (keep: (e: AuditEntryJson) => boolean) => all.filter(keep).map((e) => e.seq);
      const listed = async (q: string) => (await okJson<Page>(await call(s, s.adminAuth, 'GET', `/api/v1/audit${q}`))).entries;
      const seqs = async (q: string) => (await listed(q)).map((e) => e.seq);

      assert.deepEqual(await seqs(''), where(() => true));
      const team = await listed('?project=team');
      assert.deepEqual(
        team.map((e) => [e.actor, e.action]),
        [
          ['admin', 'project.create'],
          ['admin', 'member.set'],
          ['admin', 'artifact.push'],
          ['dev1', 'artifact.push'],
        ],
      );
      assert.deepEqual(
        team.map((e) => e.seq),
        where((e) => e.project === 'team'),
      );
      assert.deepEqual(
        team.filter((e) => e.action === 'artifact.push').map((e) => e.seq),
        [pa, pc],
      );
      assert.deepEqual(
        (await listed('?actor=dev1')).map((e) => [e.seq, e.action, e.outcome]),
        [
          ...where((e) => e.actor === 'dev1' && e.action === 'login').map((seq) => [seq, 'login', 'succeeded']),
          [pc, 'artifact.push', 'succeeded'],
        ],
      );
      assert.deepEqual(await seqs('?project=team&actor=admin&action=artifact.push'), [pa]);
      assert.deepEqual(await seqs('?action=artifact.push'), [pa, pb, pc]);
      const logins = await listed('?action=login');
      assert.deepEqual(
        [...new Set(logins.map((e) => e.actor))],
        ['admin', 'dev1'],
      );
      assert.deepEqual(
        logins.map((e) => e.seq),
        where((e) => e.action === 'login'),
      );
      assert.deepEqual(await seqs('?action=artifact.delete'), []);
      assert.deepEqual(await seqs('?project=nowhere'), []);
      assert.deepEqual(await seqs(`?since=${encodeURIComponent(before)}`), where(() => true));
      const pushB = all.find((e) => e.seq === pb)!;
      assert.deepEqual(
        await seqs(`?since=${encodeURIComponent(pushB.time!)}`),
        where((e) => e.at >= pushB.at),
      );
      assert.deepEqual(await seqs('?since=2999-01-01T00:00:00%2B02:00'), []);
      assert.deepEqual(await seqs('?since=2000-01-01t00:00:00.123456z'), where(() => true));

      // Paging: a full page names its last seq as next; the pages together are the listing.
      const first = await okJson<Page>(await call(s, s.adminAuth, 'GET', '/api/v1/audit?action=artifact.push&limit=2'));
      assert.deepEqual([first.entries.map((e) => e.seq), first.next], [[pa, pb], pb]);
      const second = await okJson<Page>(await call(s, s.adminAuth, 'GET', `/api/v1/audit?action=artifact.push&limit=2&after=${first.next}`));
      assert.deepEqual([second.entries.map((e) => e.seq), second.next], [[pc], null]);
      const walked: number[] = [];
      for (let after: number | null = 0, i = 0; after !== null; i++) {
        assert.ok(i <= all.length, 'paging ends');
        const page: Page = await okJson<Page>(await call(s, s.adminAuth, 'GET', `/api/v1/audit?limit=2&after=${after}`));
        assert.ok(page.entries.length <= 2);
        assert.equal(page.next, page.entries.length === 2 ? page.entries[1]!.seq : null);
        walked.push(...page.entries.map((e) => e.seq));
        after = page.next;
      }
      assert.deepEqual(walked, where(() => true));

      for (const [q, field] of [
        ['?since=yesterday', /since: must be an RFC 3339 time/],
        ['?since=2024-02-30T00:00:00Z', /since/],
        ['?action=artifact.explode', /action: must be one of login, artifact\.push/],
        ['?limit=0', /limit: must be at least 1/],
        ['?limit=1001', /limit: must be at most 1000/],
        ['?after=-1', /after: must be a non-negative integer/],
        ['?colour=red', /unknown field colour/],
      ] as const) {
        const err = await apiError(await call(s, s.adminAuth, 'GET', `/api/v1/audit${q}`), 400, 'BAD_REQUEST');
        assert.match(err.message, field, q);
      }
    });

    test('project administrators read their project only; the check and the export are for system administrators', { timeout: 60_000 }, async (t) => {
      const s = await startTestServer(t, { database, config: { auth: { maxFailedLogins: 1000 } } });
      await createProject(s, 'team');
      await createProject(s, 'other');
      for (const [user, role] of [
        ['padmin', 'project-admin'],
        ['dev1', 'developer'],
      ] as const) {
        await createUser(s, user, `${user}-password`);
        await addMember(s, 'team', user, role);
      }
      const image = await pushImage(s, 'team/app', 'a');
      await pushImage(s, 'other/app', 'b');
      await entriesUntil(s, '?action=artifact.push', (p) => p.entries.length === 2);
      const padmin = basicAuth('padmin', 'padmin-password');
      const page = await okJson<Page>(await call(s, padmin, 'GET', '/api/v1/audit?project=team'));
      // The project's entries, and nothing of `other` nor of no project (user.create, logins).
      assert.deepEqual(
        page.entries.map((e) => [e.project, e.action, e.resource]),
        [
          ['team', 'project.create', 'project team'],
          ['team', 'member.set', 'member padmin of team'],
          ['team', 'member.set', 'member dev1 of team'],
          ['team', 'artifact.push', `team/app@${image.digest}`],
        ],
      );
      const all = await wholeLog(s);
      assert.ok(all.some((e) => e.project === 'other') && all.some((e) => e.project === null), 'the log holds entries the project administrator must not see');
      assert.deepEqual(
        page.entries,
        all.filter((e) => e.project === 'team'),
      );
      await apiError(await call(s, padmin, 'GET', '/api/v1/audit'), 403, 'FORBIDDEN');
      await apiError(await call(s, padmin, 'GET', '/api/v1/audit?project=other'), 404, 'NOT_FOUND');
      await apiError(await call(s, basicAuth('dev1', 'dev1-password'), 'GET', '/api/v1/audit?project=team'), 403, 'FORBIDDEN');
      await apiError(await call(s, undefined, 'GET', '/api/v1/audit?project=team'), 401, 'UNAUTHORIZED');
      for (const path of ['/api/v1/audit/verify', '/api/v1/audit/export']) {
        await apiError(await call(s, padmin, 'GET', path), 403, 'FORBIDDEN');
        await apiError(await call(s, undefined, 'GET', path), 401, 'UNAUTHORIZED');
      }
      // Append-only: no route changes or deletes an entry.
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        for (const path of ['/api/v1/audit', '/api/v1/audit/1']) await apiError(await call(s, s.adminAuth, method, path, method === 'DELETE' ? undefined : {}), 404, 'NOT_FOUND');
      }
    });

    test('a row edited in the database is named by the check; retention cuts at a checkpoint the check and the export start from', { timeout: 60_000 }, async (t) => {
      const s = await startTestServer(t, { database });
      await createProject(s, 'team');
      for (const tag of ['a', 'b', 'c', 'd', 'e']) await pushImage(s, 'team/app', tag, { layers: [10] });
      await entriesUntil(s, '?action=artifact.push', (p) => p.entries.length === 5);
      const entries = await wholeLog(s);
      assertUncutChain(entries);
      // Before the pushes: at least the admin's login and the project's creation.
      const n = entries.length;
      assert.ok(n >= 7, JSON.stringify(entries.map((e) => e.action)));
      assert.deepEqual(
        entries.slice(-5).map((e) => [e.action, e.detail?.['tag']]),
        ['a', 'b', 'c', 'd', 'e'].map((tag) => ['artifact.push', tag]),
      );
      const [lastCut, kept1, kept2] = [entries[n - 3]!, entries[n - 2]!, entries[n - 1]!];
      const db = await behind(t, s, database);

      // Retention, as the server's timer will run it: everything but the newest two entries.
      const log = new AuditLog({ meta: db.store, log: silentLogger, now: () => kept1.at + 60_000 });
      const pruned = await log.prune(60_000);
      assert.deepEqual(pruned, { kind: 'pruned', deleted: n - 2, checkpoint: { seq: lastCut.seq, hash: lastCut.hash } });
      const after = await okJson<ChainVerification>(await call(s, s.adminAuth, 'GET', '/api/v1/audit/verify'));
      assert.deepEqual({ ok: after.ok, entries: after.entries, checkpoint: after.checkpoint }, { ok: true, entries: 3, checkpoint: { seq: lastCut.seq, hash: lastCut.hash } });
      const listed = await okJson<Page>(await call(s, s.adminAuth, 'GET', '/api/v1/audit'));
      assert.deepEqual(
        listed.entries.map((e) => [e.seq, e.action]),
        [
          [kept1.seq, 'artifact.push'],
          [kept2.seq, 'artifact.push'],
          [kept2.seq + 1, 'audit.prune'],
        ],
      );
      assert.deepEqual(listed.entries.slice(0, 2), [kept1, kept2]);
      assert.deepEqual({ seq: listed.checkpoint?.seq, hash: listed.checkpoint?.hash }, { seq: lastCut.seq, hash: lastCut.hash });
      const text = await exportOf(s);
      assert.deepEqual(JSON.parse(text.split('\n')[0]!), { checkpoint: listed.checkpoint });
      assert.equal(checkExport(text).ok, true);
      const file = join(tempDir(t), 'audit.jsonl');
      writeFileSync(file, text);
      const py = pythonVerify(t, file);
      if (py !== undefined) assert.deepEqual(py, { code: 0, out: `intact through entry ${kept2.seq + 1}\n` });

      // New entries go on from the cut.
      const f = await pushImage(s, 'team/app', 'f', { layers: [10] });
      const onward = await entriesUntil(s, '', (p) => p.entries.some((e) => e.resource === `team/app@${f.digest}`));
      assert.deepEqual(
        onward.entries.slice(0, 3),
        listed.entries,
      );
      assert.equal(onward.entries[3]!.prevHash, listed.entries[2]!.hash);
      const extended = await okJson<ChainVerification>(await call(s, s.adminAuth, 'GET', '/api/v1/audit/verify'));
      assert.deepEqual({ ok: extended.ok, entries: extended.entries, checkpoint: extended.checkpoint }, { ok: true, entries: onward.entries.length, checkpoint: { seq: lastCut.seq, hash: lastCut.hash } });

      // An intruder with database access changes an outcome (of the newest push kept by the cut).
      assert.equal(await db.raw.run("UPDATE audit_log SET outcome = 'failed' WHERE seq = ?", [kept2.seq]), 1);
      const broken = await okJson<ChainVerification>(await call(s, s.adminAuth, 'GET', '/api/v1/audit/verify'));
      assert.equal(broken.ok, false);
      assert.deepEqual({ seq: broken.firstBroken?.seq, reason: broken.firstBroken?.reason }, { seq: kept2.seq, reason: 'altered' });
      assert.equal(checkExport(await exportOf(s)).firstBroken?.seq, kept2.seq);
    });
  });
}
