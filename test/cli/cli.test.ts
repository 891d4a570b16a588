// The real CLI (dist/src/cli/main.js) in a child process, against real servers. HOME and
// DOCKER_CONFIG point at temporary directories so the user's own files are never touched.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import type { Command } from 'commander';
import { tempDir } from '../helpers/env.js';
import { ADMIN_PASSWORD, basicAuth, createProject, startTestServer } from '../helpers/server.js';
import { blobPath, call, okJson, pushBlob, pushImage } from '../registry/management/fixtures.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Result {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Sandbox {
  readonly home: string;
  readonly dockerConfig: string;
  readonly env: Record<string, string>;
  /** Runs the CLI with `args`; `env` adds to (or, with undefined, removes from) the sandbox environment. */
  run(args: readonly string[], options?: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number }): Promise<Result>;
}

function sandbox(t: TestContext): Sandbox {
  const home = tempDir(t, 'portcullis-cli-home-');
  const dockerConfig = join(home, 'docker-config');
  // Only what the CLI needs: nothing from the real user's environment (no PORTCULLIS_*), and a
  // `serve` that fetches no advisory feeds.
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, DOCKER_CONFIG: dockerConfig, NO_COLOR: '1', PORTCULLIS_SCAN_UPDATE_INTERVAL: '0' };
  return {
    home,
    dockerConfig,
    env,
    run: (args, options = {}) =>
      new Promise<Result>((resolve, reject) => {
        const childEnv: Record<string, string> = { ...env };
        for (const [k, v] of Object.entries(options.env ?? {})) {
          if (v === undefined) delete childEnv[k];
          else childEnv[k] = v;
        }
        const child = spawn(process.execPath, [CLI, ...args], { env: childEnv, cwd: home, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
        child.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal, stdout, stderr });
        });
        child.stdin.end(options.input ?? '');
      }),
  };
}

/** Asserts the failure contract: exit 1, nothing on stdout, exactly one stderr line starting `portcullis:`. */
function assertFailure(r: Result, pattern?: RegExp): string {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}: ${r.stderr}`);
  assert.equal(r.stdout, '', 'a failure printed a result');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^portcullis: /);
  if (pattern !== undefined) assert.match(lines[0]!, pattern);
  return lines[0]!;
}

function assertOk(r: Result): void {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

/** A port nothing listens on (listened on once, then released). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function dockerConfig(sb: Sandbox): { auths?: Record<string, { auth?: string }> } & Record<string, unknown> {
  return JSON.parse(readFileSync(join(sb.dockerConfig, 'config.json'), 'utf8')) as { auths?: Record<string, { auth?: string }> };
}

test('exit codes: usage errors exit 2, failures exit 1 with one `portcullis:` line on stderr', async (t) => {
  const sb = sandbox(t);
  const s = await startTestServer(t, { config: { auth: { maxFailedLogins: 100 } } });

  for (const args of [['frobnicate'], ['project', 'create'], ['user', 'list', '-f', 'xml', '--server', s.url], ['project', 'member', 'add', 'team', 'bob', '--server', s.url], ['project', 'set-public', 'team', 'maybe', '--server', s.url], ['login', s.host, '--password-stdin'], ['user', 'list'], ['repo', 'artifacts', 'noslash', '--server', s.url]]) {
    const r = await sb.run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, stderr: ${r.stderr}`);
    assert.equal(r.stdout, '', `${args.join(' ')} printed a result`);
    assert.ok(r.stderr.trim().length > 0, `${args.join(' ')}: no message`);
  }
  // The CLI's own usage errors follow the `portcullis:` line format too.
  assert.match((await sb.run(['user', 'list'])).stderr, /^portcullis: no server: /);
  assert.match((await sb.run(['project', 'set-public', 'team', 'maybe', '--server', s.url])).stderr, /^portcullis: expected true or false/);

  const port = await freePort();
  assertFailure(await sb.run(['user', 'list', '--server', `http://127.0.0.1:${port}`], { env: { PORTCULLIS_USERNAME: 'admin', PORTCULLIS_PASSWORD: ADMIN_PASSWORD } }), /cannot reach .*ECONNREFUSED/);
  assertFailure(await sb.run(['user', 'list', '--server', s.url], { env: { PORTCULLIS_USERNAME: 'admin', PORTCULLIS_PASSWORD: 'wrong-password' } }), /invalid username or password/);
  assertFailure(await sb.run(['user', 'list', '--server', s.url]), /run portcullis login first/);
  assertFailure(await sb.run(['project', 'delete', 'nosuchproject', '--server', s.url], { env: { PORTCULLIS_USERNAME: 'admin', PORTCULLIS_PASSWORD: ADMIN_PASSWORD } }), /not found/);
  assertFailure(await sb.run(['login', s.host, '--username', 'admin', '--password-stdin'], { input: 'wrong-password\n' }), /login failed/);

  const ok = await sb.run(['--version']);
  assertOk(ok);
  assert.match(ok.stdout, /^\d+\.\d+\.\d+/);
  assertOk(await sb.run(['--help']));
});

test('login stores credentials (mode 0600) that later commands use; a failed login changes nothing; logout removes them', async (t) => {
  const sb = sandbox(t);
  const s = await startTestServer(t, { config: { auth: { maxFailedLogins: 100 } } });
  const configPath = join(sb.dockerConfig, 'config.json');

  // A failed login on a fresh machine writes no file at all.
  assertFailure(await sb.run(['login', s.host, '--username', 'admin', '--password-stdin'], { input: 'wrong-password\n' }), /wrong username or password/);
  assert.ok(!existsSync(configPath), 'a failed login wrote the Docker config');

  // Other registries' entries and unrelated settings survive.
  mkdirSync(sb.dockerConfig, { recursive: true });
  writeFileSync(configPath, JSON.stringify({ auths: { 'other.example:5000': { auth: Buffer.from('someone:else').toString('base64') } }, detachKeys: 'ctrl-x' }));

  const login = await sb.run(['login', s.host, '--username', 'admin', '--password-stdin'], { input: `${ADMIN_PASSWORD}\n` });
  assertOk(login);
  assert.match(login.stdout, /Login Succeeded/);
  const stored = dockerConfig(sb);
  assert.equal(stored.auths?.[s.host]?.auth, Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64'));
  assert.equal(stored.auths?.['other.example:5000']?.auth, Buffer.from('someone:else').toString('base64'));
  assert.equal(stored['detachKeys'], 'ctrl-x');
  assert.equal(statSync(configPath).mode & 0o777, 0o600);

  // Without any credential flag or variable, commands use the stored login.
  const list = await sb.run(['user', 'list', '-f', 'json'], { env: { PORTCULLIS_SERVER: s.host } });
  assertOk(list);
  assert.deepEqual((JSON.parse(list.stdout) as { username: string }[]).map((u) => u.username), ['admin']);

  // A failed login leaves the stored credentials exactly as they were.
  const before = readFileSync(configPath);
  assertFailure(await sb.run(['login', s.host, '--username', 'admin', '--password-stdin'], { input: 'not-the-password\n' }), /login failed/);
  assert.deepEqual(readFileSync(configPath), before);

  const logout = await sb.run(['logout', s.host]);
  assertOk(logout);
  const after = dockerConfig(sb);
  assert.equal(after.auths?.[s.host], undefined);
  assert.equal(after.auths?.['other.example:5000']?.auth, Buffer.from('someone:else').toString('base64'));
  assertFailure(await sb.run(['user', 'list', '--server', s.url]), /run portcullis login first/);
  // Logging out twice is not an error.
  const again = await sb.run(['logout', s.host]);
  assertOk(again);
  assert.match(again.stdout, /Not logged in/);
});

test('user, project, member, robot and repo commands against a server', async (t) => {
  const sb = sandbox(t);
  const s = await startTestServer(t);
  const asAdmin = { PORTCULLIS_SERVER: s.url, PORTCULLIS_USERNAME: 'admin', PORTCULLIS_PASSWORD: ADMIN_PASSWORD };
  const run = (args: readonly string[], input?: string) => sb.run(args, { env: asAdmin, ...(input !== undefined ? { input } : {}) });

  // user create with a password from stdin, and with a generated one
  assertOk(await run(['user', 'create', 'bob', '--email', 'bob@example.com', '--password-stdin'], 'bob-password\n'));
  assert.equal((await call(s, basicAuth('bob', 'bob-password'), 'GET', '/api/v1/users/current')).status, 200);
  const generated = await run(['user', 'create', 'carl', '-f', 'json']);
  assertOk(generated);
  const carl = JSON.parse(generated.stdout) as { username: string; password: string };
  assert.equal(carl.username, 'carl');
  assert.equal((await call(s, basicAuth('carl', carl.password), 'GET', '/api/v1/users/current')).status, 200);
  assertFailure(await run(['user', 'create', 'bob', '--password-stdin'], 'bob-password\n'), /already exists/);

  const users = await run(['user', 'list', '-f', 'json']);
  assertOk(users);
  const parsed = JSON.parse(users.stdout) as { username: string; email: string | null; admin: boolean }[];
  assert.deepEqual(parsed.map((u) => [u.username, u.admin, u.email]), [['admin', true, null], ['bob', false, 'bob@example.com'], ['carl', false, null]]);
  const table = await run(['user', 'list']);
  assertOk(table);
  assert.match(table.stdout.split('\n')[0]!, /^USERNAME\s+ADMIN\s+SECURITY TEAM\s+EMAIL\s+CREATED$/);
  assert.match(table.stdout, /^bob\s+false\s+false\s+bob@example\.com\s+\S+$/m);

  // -o writes the result to the file and nothing to stdout
  const outFile = join(sb.home, 'users.json');
  const toFile = await run(['user', 'list', '-f', 'json', '-o', outFile]);
  assertOk(toFile);
  assert.equal(toFile.stdout, '');
  assert.deepEqual(JSON.parse(readFileSync(outFile, 'utf8')), parsed);

  // projects and members
  assertOk(await run(['project', 'create', 'team', '--public']));
  assertOk(await run(['project', 'create', 'hidden']));
  const projects = await okJson<{ name: string; public: boolean }[]>(await call(s, undefined, 'GET', '/api/v1/projects'));
  assert.deepEqual(projects.map((p) => [p.name, p.public]), [['team', true]]);
  assertOk(await run(['project', 'member', 'add', 'team', 'bob', '-r', 'developer']));
  assert.deepEqual(await okJson(await s.admin('/api/v1/projects/team/members')), [{ username: 'bob', role: 'developer' }]);
  const members = await run(['project', 'member', 'list', 'team', '-f', 'json']);
  assertOk(members);
  assert.deepEqual(JSON.parse(members.stdout), [{ username: 'bob', role: 'developer' }]);
  assertFailure(await run(['project', 'member', 'add', 'team', 'nosuchuser', '-r', 'guest']), /nosuchuser/);
  // bob, a developer, may now push
  await pushImage(s, 'team/app', 'v1', { auth: basicAuth('bob', 'bob-password') });
  await pushImage(s, 'team/tools/lint', 'stable');

  // robots: the secret is printed once and works on /v2 with Basic
  const created = await run(['robot', 'create', 'ci', '-p', 'team:pull,push', '--description', 'CI']);
  assertOk(created);
  const secret = /^secret: (\S+)$/m.exec(created.stdout)?.[1];
  assert.ok(secret !== undefined, `no secret in:\n${created.stdout}`);
  assert.equal(created.stdout.split(secret).length - 1, 1, 'the secret is printed more than once');
  assert.match(created.stdout, /^name:\s+robot\$ci$/m);
  const robotAuth = basicAuth('robot$ci', secret);
  assert.equal((await call(s, robotAuth, 'GET', '/v2/')).status, 200);
  assert.equal((await call(s, robotAuth, 'GET', '/v2/team/app/manifests/v1')).status, 200);
  assert.equal((await call(s, robotAuth, 'POST', '/v2/hidden/app/blobs/uploads/')).status, 403);
  const robots = await run(['robot', 'list', '-f', 'json']);
  assertOk(robots);
  assert.ok(!robots.stdout.includes(secret), 'robot list shows the secret');
  assert.deepEqual((JSON.parse(robots.stdout) as { name: string }[]).map((r) => r.name), ['robot$ci']);
  assertOk(await run(['robot', 'disable', 'ci']));
  assert.equal((await call(s, robotAuth, 'GET', '/v2/')).status, 401);
  assertOk(await run(['robot', 'enable', 'ci']));
  assert.equal((await call(s, robotAuth, 'GET', '/v2/')).status, 200);
  assert.equal((await run(['robot', 'create', 'bad', '-p', 'team'])).code, 2);

  // Secrets to -o FILE: nothing on stdout, the file private (0600) even when it was there before.
  const robotFile = join(sb.home, 'robot.json');
  writeFileSync(robotFile, 'old', { mode: 0o644 });
  const deploy = await run(['robot', 'create', 'deploy', '-p', 'team:pull', '-f', 'json', '-o', robotFile]);
  assertOk(deploy);
  assert.equal(deploy.stdout, '');
  assert.equal(statSync(robotFile).mode & 0o777, 0o600);
  const first = JSON.parse(readFileSync(robotFile, 'utf8')) as { name: string; secret: string };
  assert.equal((await call(s, basicAuth(first.name, first.secret), 'GET', '/v2/')).status, 200);
  const rotated = await run(['robot', 'rotate', 'deploy', '-f', 'json', '-o', robotFile]);
  assertOk(rotated);
  assert.equal(rotated.stdout, '');
  const second = JSON.parse(readFileSync(robotFile, 'utf8')) as { name: string; secret: string };
  assert.notEqual(second.secret, first.secret);
  assert.equal((await call(s, basicAuth(second.name, second.secret), 'GET', '/v2/')).status, 200);
  assert.equal((await call(s, basicAuth(first.name, first.secret), 'GET', '/v2/')).status, 401);
  const doraFile = join(sb.home, 'dora.json');
  assertOk(await run(['user', 'create', 'dora', '-f', 'json', '-o', doraFile]));
  assert.equal(statSync(doraFile).mode & 0o777, 0o600);
  const dora = JSON.parse(readFileSync(doraFile, 'utf8')) as { username: string; password: string };
  assert.equal((await call(s, basicAuth('dora', dora.password), 'GET', '/api/v1/users/current')).status, 200);

  // repositories and artifacts
  const repos = await run(['repo', 'list', 'team']);
  assertOk(repos);
  assert.match(repos.stdout, /^REPOSITORY\s+ARTIFACTS\s+UPDATED$/m);
  assert.match(repos.stdout, /^team\/app\s+1\s+\S+$/m);
  assert.match(repos.stdout, /^team\/tools\/lint\s+1\s+\S+$/m);
  const artifacts = await run(['repo', 'artifacts', 'team/app', '-f', 'json']);
  assertOk(artifacts);
  const api = await okJson<unknown[]>(await s.admin('/api/v1/projects/team/repositories/app/artifacts'));
  assert.deepEqual(JSON.parse(artifacts.stdout), api);
  assert.deepEqual((JSON.parse(artifacts.stdout) as { tags: string[] }[]).map((a) => a.tags), [['v1']]);
  const nested = await run(['repo', 'artifacts', 'team/tools/lint']);
  assertOk(nested);
  assert.match(nested.stdout, /^sha256:[0-9a-f]{64}\s+stable\s+[\d.]+ (B|KiB)\s+\S+$/m);
  const artifactsFile = join(sb.home, 'artifacts.json');
  const artifactsToFile = await run(['repo', 'artifacts', 'team/app', '-f', 'json', '-o', artifactsFile]);
  assertOk(artifactsToFile);
  assert.equal(artifactsToFile.stdout, '');
  assert.deepEqual(JSON.parse(readFileSync(artifactsFile, 'utf8')), api);

  // deleting through the CLI
  assertFailure(await run(['project', 'delete', 'team']), /repositories/);
  assertOk(await run(['project', 'delete', 'hidden']));
  assertOk(await run(['robot', 'delete', 'ci']));
  assert.equal((await call(s, robotAuth, 'GET', '/v2/')).status, 401);
  assertOk(await run(['user', 'delete', 'carl']));
  assert.equal((await call(s, basicAuth('carl', carl.password), 'GET', '/api/v1/users/current')).status, 401);
});

test('gc --data collects a stopped registry\'s data directory; --dry-run only reports', async (t) => {
  const sb = sandbox(t);
  const s = await startTestServer(t);
  await createProject(s, 'team');
  const image = await pushImage(s, 'team/app', 'latest');
  const loose = Buffer.from(`pushed without a manifest ${Date.now()}`);
  const digest = await pushBlob(s, 'team/app', loose);
  await s.close();
  await sleep(20);
  assert.ok(existsSync(blobPath(s.dataDir, digest)));
  const env = { PORTCULLIS_GC_GRACE: '0s' };

  const dry = await sb.run(['gc', '--data', s.dataDir, '--dry-run', '-f', 'json'], { env });
  assertOk(dry);
  const dryReport = JSON.parse(dry.stdout) as { dryRun: boolean; blobsDeleted: number; bytesFreed: number; blobs: { digest: string; size: number }[] };
  assert.equal(dryReport.dryRun, true);
  assert.deepEqual(dryReport.blobs, [{ digest, size: loose.byteLength }]);
  assert.equal(dryReport.bytesFreed, loose.byteLength);
  assert.ok(existsSync(blobPath(s.dataDir, digest)), 'a dry run deleted the blob');

  // With the default grace period (1h) the fresh blob is kept.
  const graceful = await sb.run(['gc', '--data', s.dataDir, '-f', 'json']);
  assertOk(graceful);
  assert.equal((JSON.parse(graceful.stdout) as { blobsDeleted: number }).blobsDeleted, 0);
  assert.ok(existsSync(blobPath(s.dataDir, digest)));

  const real = await sb.run(['gc', '--data', s.dataDir, '-f', 'json'], { env });
  assertOk(real);
  const report = JSON.parse(real.stdout) as { dryRun: boolean; blobs: { digest: string; size: number }[] };
  assert.equal(report.dryRun, false);
  assert.deepEqual(report.blobs, [{ digest, size: loose.byteLength }]);
  assert.ok(!existsSync(blobPath(s.dataDir, digest)), 'the unreferenced blob is still on disk');
  for (const d of [image.configDigest, ...image.layerDigests]) assert.ok(existsSync(blobPath(s.dataDir, d)), `${d} (referenced) was deleted`);

  const summary = await sb.run(['gc', '--data', s.dataDir, '--dry-run'], { env });
  assertOk(summary);
  assert.match(summary.stdout, /^would free 0 B: 0 blobs, 0 manifests, 0 abandoned uploads$/m);
});

test('serve: an invalid configuration file exits 2 naming the bad key', async (t) => {
  const sb = sandbox(t);
  const dir = tempDir(t);
  const file = join(dir, 'portcullis.yml');
  writeFileSync(file, `addr: 127.0.0.1:0\ndata: ${dir}\ngc:\n  grase: 1h\n`);
  const r = await sb.run(['serve', '--config', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^portcullis: invalid configuration: .*gc\.grase/);

  writeFileSync(file, `auth:\n  tokenTtl: soon\n`);
  const bad = await sb.run(['serve', '--config', file, '--data', dir]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^portcullis: invalid configuration: .*auth\.tokenTtl/);

  const missing = await sb.run(['serve', '--config', join(dir, 'nope.yml')]);
  assertFailure(missing, /nope\.yml/);
});

test('serve: a fresh data directory gets an admin whose generated password is printed once; SIGTERM stops it cleanly', async (t) => {
  const sb = sandbox(t);
  const data = tempDir(t);
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--addr', `127.0.0.1:${port}`, '--data', data], { env: { ...sb.env, PORTCULLIS_LOG_LEVEL: 'warn' }, cwd: sb.home, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  const deadline = Date.now() + 20_000;
  while (!/serving on /.test(stderr)) {
    if (child.exitCode !== null) assert.fail(`serve exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) assert.fail(`serve did not start: ${stderr}`);
    await sleep(50);
  }
  const password = /with password: (\S+)/.exec(stderr)?.[1];
  assert.ok(password !== undefined, `no generated password in:\n${stderr}`);
  assert.ok(password.length >= 16, 'a generated password should be long');
  assert.equal(stderr.split(password).length - 1, 1, 'the password is shown more than once');
  assert.ok(!stdout.includes(password), 'the password went to stdout');

  const url = `http://127.0.0.1:${port}`;
  const me = await okJson<{ username: string; admin: boolean }>(await call({ url }, basicAuth('admin', password), 'GET', '/api/v1/users/current'));
  assert.deepEqual([me.username, me.admin], ['admin', true]);
  assert.equal((await call({ url }, basicAuth('admin', 'not-it'), 'GET', '/api/v1/users/current')).status, 401);

  child.kill('SIGTERM');
  const { code, signal } = await exited;
  assert.equal(signal, null, `killed by ${signal}`);
  assert.equal(code, 0, stderr);
  await assert.rejects(fetch(`${url}/healthz`), 'still listening after SIGTERM');

  // A second start on the same data keeps the admin and prints no password.
  const port2 = await freePort();
  const again = spawn(process.execPath, [CLI, 'serve', '--addr', `127.0.0.1:${port2}`, '--data', data], { env: { ...sb.env, PORTCULLIS_LOG_LEVEL: 'warn' }, cwd: sb.home, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr2 = '';
  again.stderr.setEncoding('utf8').on('data', (d: string) => (stderr2 += d));
  const exited2 = new Promise<number | null>((resolve) => again.on('exit', (c) => resolve(c)));
  t.after(() => {
    if (again.exitCode === null && again.signalCode === null) again.kill('SIGKILL');
  });
  const deadline2 = Date.now() + 20_000;
  while (!/serving on /.test(stderr2)) {
    if (again.exitCode !== null || Date.now() > deadline2) assert.fail(`second serve did not start: ${stderr2}`);
    await sleep(50);
  }
  assert.ok(!/password/i.test(stderr2), `a password was announced again:\n${stderr2}`);
  assert.equal((await call({ url: `http://127.0.0.1:${port2}` }, basicAuth('admin', password), 'GET', '/api/v1/users/current')).status, 200);
  again.kill('SIGINT');
  assert.equal(await exited2, 0);
});

/** Every command under another one (`db build`, `project member add`), from the program itself. */
async function nestedCommands(): Promise<string[][]> {
  const { buildProgram } = await import('../../src/cli/program.js');
  const paths: string[][] = [];
  const walk = (cmd: Command, path: readonly string[]): void => {
    for (const sub of cmd.commands) {
      if (sub.name() === 'help') continue;
      const p = [...path, sub.name()];
      if (p.length > 1) paths.push(p);
      walk(sub, p);
    }
  };
  walk(buildProgram({ env: {}, cwd: '/', stdinIsTty: false }), []);
  return paths;
}

test('help A B shows the help of the nested command A B, for every nested command; an unknown one is a usage error', async (t) => {
  const sb = sandbox(t);
  const paths = await nestedCommands();
  for (const expected of [['db', 'build'], ['db', 'info'], ['key', 'generate'], ['user', 'create'], ['project', 'member', 'add'], ['robot', 'rotate'], ['repo', 'artifacts']]) {
    assert.ok(paths.some((p) => p.join(' ') === expected.join(' ')), `${expected.join(' ')} is not among the nested commands`);
  }
  // A few at a time: one process each.
  const results: { path: string[]; r: Result }[] = [];
  for (let i = 0; i < paths.length; i += 6) results.push(...(await Promise.all(paths.slice(i, i + 6).map(async (path) => ({ path, r: await sb.run(['help', ...path]) })))));
  for (const { path, r } of results) {
    assertOk(r);
    assert.match(r.stdout, new RegExp(`^Usage: portcullis ${path.join(' ')} `), `help ${path.join(' ')} showed:\n${r.stdout.split('\n')[0]}`);
    assert.equal(r.stderr, '');
  }
  // `A help B C` too, at every level with subcommands.
  const fromParent = await sb.run(['project', 'help', 'member', 'add']);
  assertOk(fromParent);
  assert.match(fromParent.stdout, /^Usage: portcullis project member add /);
  assert.match((await sb.run(['help'])).stdout, /^Usage: portcullis \[options\] \[command\]/);

  for (const args of [['help', 'frobnicate'], ['help', 'db', 'nosuch'], ['help', 'scan', 'extra'], ['db']]) {
    const r = await sb.run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}`);
    assert.equal(r.stdout, '', `${args.join(' ')} printed to stdout`);
  }
  assert.match((await sb.run(['help', 'db', 'nosuch'])).stderr, /unknown command 'nosuch' for 'portcullis db'/);
});

test('gc without a server refuses a missing data directory instead of creating an empty registry', async (t) => {
  const sb = sandbox(t);
  const message = (at: string) => new RegExp(`^portcullis: no registry data at ${at.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: give --data DIR \\(or --config FILE\\) of a registry, or --server URL to collect on a running one$`);

  // The default, ./data in a directory without one.
  assertFailure(await sb.run(['gc']), message('./data'));
  assertFailure(await sb.run(['gc', '--dry-run', '-f', 'json']), message('./data'));
  assert.ok(!existsSync(join(sb.home, 'data')), 'gc created ./data');

  // --data, $PORTCULLIS_DATA and a configuration file naming a missing directory.
  const missing = join(tempDir(t), 'nowhere');
  assertFailure(await sb.run(['gc', '--data', missing]), message(missing));
  assertFailure(await sb.run(['gc'], { env: { PORTCULLIS_DATA: missing } }), message(missing));
  const config = join(sb.home, 'portcullis.yml');
  writeFileSync(config, `data: ${missing}\n`);
  assertFailure(await sb.run(['gc', '--config', config]), message(missing));
  assert.ok(!existsSync(missing), 'gc created the data directory');

  // A directory that is there but holds no registry is left as it was.
  const empty = join(sb.home, 'empty');
  mkdirSync(empty);
  assertFailure(await sb.run(['gc', '--data', 'empty']), message('./empty'));
  assert.deepEqual(readdirSync(empty), [], 'gc wrote into a directory that holds no registry');
});
