// `portcullis audit list|export|verify`: the real CLI in a child process against a real server,
// and offline on export files. Results on stdout (or -o), messages on stderr; exit 0, 1 for a
// failure or a broken chain (naming the first broken entry), 2 for a usage error.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { AuditEntryJson } from '../../src/registry/audit.js';
import { SqliteDb } from '../../src/storage/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';
import { ADMIN_PASSWORD, createProject, createUser, startTestServer, type TestServer } from '../helpers/server.js';
import { call, okJson, pushImage } from './management/fixtures.js';

function ok(r: CliResult): void {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

/** Exit 1, nothing on stdout, one line on stderr `portcullis: …` matching `pattern`. */
function failure(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^portcullis: /);
  assert.match(lines[0]!, pattern);
}

/** The server's whole log, as the API lists it (one page: the log of this test is short). */
async function serverLog(s: TestServer): Promise<AuditEntryJson[]> {
  const page = await okJson<{ entries: AuditEntryJson[]; next: number | null }>(await call(s, s.adminAuth, 'GET', '/api/v1/audit?limit=1000'));
  assert.equal(page.next, null);
  return page.entries;
}

/** The log once an entry `done` accepts is stored (entries are appended just after the request answered). */
async function settled(s: TestServer, done: (e: AuditEntryJson) => boolean): Promise<AuditEntryJson[]> {
  for (let i = 0; i < 100; i++) {
    const entries = await serverLog(s);
    if (entries.some(done)) return entries;
    await sleep(20);
  }
  assert.fail('the awaited audit entry never came');
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('portcullis audit list, export and verify', { timeout: 120_000 }, async (t) => {
  const s = await startTestServer(t);
  await createProject(s, 'team');
  await createUser(s, 'dev1', 'dev1-password');
  const image = await pushImage(s, 'team/app', '1.0', { layers: [10] });
  const image2 = await pushImage(s, 'team/app', '2.0', { layers: [10] });
  assert.equal((await call(s, s.adminAuth, 'DELETE', '/api/v1/projects/team/repositories/app/artifacts/1.0')).status, 204);
  // The log holds more than the pushes and the delete (the admin's login, the project, the user):
  // what the CLI shows is checked against what the server lists.
  const log = await settled(s, (e) => e.action === 'artifact.delete');
  const only = (action: string, resource: string) => {
    const found = log.filter((e) => e.action === action && e.resource === resource);
    assert.equal(found.length, 1, `${action} ${resource}`);
    return found[0]!;
  };
  const push1 = only('artifact.push', `team/app@${image.digest}`);
  const push2 = only('artifact.push', `team/app@${image2.digest}`);
  const deleted = only('artifact.delete', `team/app@${image.digest}`);
  assert.deepEqual(
    log.filter((e) => e.project === 'team').map((e) => e.action),
    ['project.create', 'artifact.push', 'artifact.push', 'artifact.delete'],
  );
  assert.ok(log.some((e) => e.action === 'user.create' && e.resource === 'user dev1'));

  const home = tempDir(t, 'portcullis-audit-cli-');
  const admin = { PORTCULLIS_SERVER: s.url, PORTCULLIS_USERNAME: 'admin', PORTCULLIS_PASSWORD: ADMIN_PASSWORD };
  const cli = (args: readonly string[], env: Record<string, string> = admin) => runCli(home, args, env);

  await t.test('list prints a table, or JSON; filters; -o writes the file instead of stdout', async () => {
    const table = await cli(['audit', 'list']);
    ok(table);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^SEQ\s+TIME\s+ACTOR\s+CLIENT\s+ACTION\s+RESOURCE\s+OUTCOME$/);
    // One row per entry of the log, in its order, each showing that entry.
    assert.equal(lines.length, 1 + log.length, table.stdout);
    log.forEach((e, i) => {
      assert.match(lines[i + 1]!, new RegExp(`^${e.seq}\\s+${escape(e.time!)}\\s+${escape(e.actor!)}\\s+${escape(e.client!)}\\s+${escape(e.action)}\\s+${escape(e.resource)}\\s+${e.outcome}$`));
    });
    assert.match(lines[log.indexOf(push1) + 1]!, new RegExp(`^${push1.seq}\\s+\\S+Z\\s+admin\\s+127\\.0\\.0\\.1\\s+artifact\\.push\\s+team/app@${image.digest}\\s+succeeded$`));
    assert.match(lines[lines.length - 1]!, new RegExp(`^${deleted.seq}\\s.*artifact\\.delete`));

    const json = await cli(['audit', 'list', '--project', 'team', '--action', 'artifact.delete', '--since', '1h', '-f', 'json']);
    ok(json);
    const entries = JSON.parse(json.stdout) as { seq: number; action: string; resource: string }[];
    assert.deepEqual(
      entries.map((e) => [e.seq, e.action, e.resource]),
      [[deleted.seq, 'artifact.delete', `team/app@${image.digest}`]],
    );
    assert.deepEqual(JSON.parse((await cli(['audit', 'list', '--actor', 'nobody', '-f', 'json'])).stdout), []);

    const paged = await cli(['audit', 'list', '--after', String(push1.seq), '--limit', '1', '-o', 'list.txt']);
    ok(paged);
    assert.equal(paged.stdout, '');
    const file = readFileSync(join(home, 'list.txt'), 'utf8').trimEnd().split('\n');
    assert.deepEqual(
      file.slice(1).map((l) => l.split(/\s+/)[0]),
      [String(push2.seq)],
    );
  });

  await t.test('usage errors exit 2', async () => {
    for (const args of [
      ['audit', 'list', '--since', 'yesterday'],
      ['audit', 'list', '--limit', 'many'],
      ['audit', 'list', '-f', 'xml'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
    }
  });

  await t.test('export writes JSON lines, the same entries the server exports; verify --file checks them offline', async () => {
    const r = await cli(['audit', 'export', '-o', 'audit.jsonl']);
    ok(r);
    assert.equal(r.stdout, '');
    const text = readFileSync(join(home, 'audit.jsonl'), 'utf8');
    const server = await (await call(s, s.adminAuth, 'GET', '/api/v1/audit/export')).text();
    const parse = (x: string) => x.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(parse(text), parse(server));
    // Every entry of the log from the first (no retention cut here, so no checkpoint line).
    const exported = parse(text) as AuditEntryJson[];
    assert.deepEqual(
      exported.map((e) => e.seq),
      exported.map((_, i) => i + 1),
    );
    assert.deepEqual(exported.slice(0, log.length), log);
    assert.match(r.stderr, new RegExp(`^exported ${exported.length} entries\n$`));
    const toStdout = await cli(['audit', 'export']);
    ok(toStdout);
    assert.deepEqual(parse(toStdout.stdout), parse(server));

    const intact = await cli(['audit', 'verify', '--file', 'audit.jsonl']);
    ok(intact);
    assert.match(intact.stdout, new RegExp(`^intact: ${exported.length} entries \\(to entry ${exported.length}\\) in audit\\.jsonl\\nlast hash: ${exported[exported.length - 1]!.hash} `));
    assert.equal(intact.stderr, '');
  });

  await t.test('verify --file exits 1 naming the first broken entry of a tampered export', async () => {
    const lines = readFileSync(join(home, 'audit.jsonl'), 'utf8').trimEnd().split('\n');
    // The line of the first push, in the middle of the chain: an entry before it and after it.
    const k = lines.findIndex((l) => (JSON.parse(l) as AuditEntryJson).seq === push1.seq);
    assert.ok(k > 0 && k < lines.length - 1, `push at line ${k + 1} of ${lines.length}`);
    const seq = push1.seq;
    const edited = lines.map((l, i) => (i === k ? l.replace('"team/app@', '"team/innocent@') : l));
    assert.notEqual(edited[k], lines[k]);
    writeFileSync(join(home, 'edited.jsonl'), `${edited.join('\n')}\n`);
    failure(await cli(['audit', 'verify', '--file', 'edited.jsonl']), new RegExp(`the audit chain is broken at entry ${seq} \\(altered\\): entry ${seq} was altered`));
    writeFileSync(join(home, 'gap.jsonl'), `${lines.filter((_, i) => i !== k).join('\n')}\n`);
    failure(await cli(['audit', 'verify', '--file', 'gap.jsonl']), new RegExp(`broken at entry ${seq + 1} \\(missing-entries\\): entry ${seq} is missing before entry ${seq + 1}`));

    const json = await cli(['audit', 'verify', '--file', 'edited.jsonl', '-f', 'json']);
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout).firstBroken, { seq, reason: 'altered', message: `entry ${seq} was altered: its content does not hash to its hash` });
    assert.match(json.stderr, new RegExp(`^portcullis: the audit chain is broken at entry ${seq} `));

    failure(await cli(['audit', 'verify', '--file', 'no-such.jsonl']), /cannot read no-such\.jsonl: ENOENT/);
    assert.equal(existsSync(join(home, 'no-such.jsonl')), false);
  });

  await t.test('verify asks the server to check its chain: 0 while intact, 1 naming the row edited in the database', async () => {
    const now = await serverLog(s);
    const last = now[now.length - 1]!;
    const intact = await cli(['audit', 'verify']);
    ok(intact);
    assert.match(intact.stdout, new RegExp(`^intact: ${now.length} entries \\(to entry ${last.seq}\\) in the server’s log\\nlast hash: ${last.hash} `));

    failure(await cli(['audit', 'verify'], { PORTCULLIS_SERVER: s.url, PORTCULLIS_USERNAME: 'dev1', PORTCULLIS_PASSWORD: 'dev1-password' }), /only system administrators/);

    const db = new SqliteDb(join(s.dataDir, 'portcullis.db'));
    try {
      assert.equal(await db.run("UPDATE audit_log SET outcome = 'failed' WHERE seq = ?", [push2.seq]), 1);
    } finally {
      await db.close();
    }
    failure(await cli(['audit', 'verify']), new RegExp(`the audit chain is broken at entry ${push2.seq} \\(altered\\)`));
  });
});
