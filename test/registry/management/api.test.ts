// Behaviour of the management API (/api/v1), the token endpoint and the health checks, against a
// real server over HTTP.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { addMember, basicAuth, createProject, createRobot, createUser, startTestServer, type TestServer } from '../../helpers/server.js';
import { apiError, blobPath, call, jwtPayload, okJson, pushBlob, pushImage } from './fixtures.js';

interface UserJson {
  username: string;
  email: string | null;
  admin: boolean;
  createdAt: string;
  updatedAt: string;
}

interface ArtifactJson {
  digest: string;
  mediaType: string;
  size: number;
  tags: string[];
  pushedAt: string;
  referrers?: unknown[];
}

interface GcReportJson {
  dryRun: boolean;
  blobsDeleted: number;
  bytesFreed: number;
  blobs: { digest: string; size: number }[];
  manifests: unknown[];
}

const admin = (s: TestServer, method: string, path: string, body?: unknown) => call(s, s.adminAuth, method, path, body);

/** A mutable clock for servers started with an injected `now`. */
function clock(start = Date.now()): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

// ------------------------------------------------------------------------------------ users

test('users: create answers 201 without secrets; duplicates 409; invalid fields 400 naming the field', async (t) => {
  const s = await startTestServer(t);
  const created = await okJson<UserJson & Record<string, unknown>>(await admin(s, 'POST', '/api/v1/users', { username: 'alice', password: 'alice-password', email: 'alice@example.com' }), 201);
  assert.equal(created.username, 'alice');
  assert.equal(created.email, 'alice@example.com');
  assert.equal(created.admin, false);
  assert.ok(!Number.isNaN(Date.parse(created.createdAt)));
  assert.ok(!JSON.stringify(created).includes('alice-password'), 'the password must not come back');
  assert.ok(!Object.keys(created).some((k) => /password|hash/i.test(k)), `unexpected keys ${Object.keys(created).join(',')}`);

  // The new account works.
  const me = await okJson<{ kind: string; username: string; memberships: unknown[] }>(await call(s, basicAuth('alice', 'alice-password'), 'GET', '/api/v1/users/current'));
  assert.equal(me.kind, 'user');
  assert.equal(me.username, 'alice');
  assert.deepEqual(me.memberships, []);

  // Listed, once.
  const users = await okJson<UserJson[]>(await admin(s, 'GET', '/api/v1/users'));
  assert.deepEqual(users.map((u) => u.username).sort(), ['admin', 'alice']);

  await apiError(await admin(s, 'POST', '/api/v1/users', { username: 'alice', password: 'another-password' }), 409, 'CONFLICT');

  for (const bad of ['has space', '-leading', 'x'.repeat(65), 'robot$sneaky', 'anonymous', '']) {
    const e = await apiError(await admin(s, 'POST', '/api/v1/users', { username: bad, password: 'long-enough' }), 400, 'BAD_REQUEST');
    assert.match(e.message, /^username: /, `"${bad}": ${e.message}`);
  }
  const short = await apiError(await admin(s, 'POST', '/api/v1/users', { username: 'bob', password: 'short' }), 400, 'BAD_REQUEST');
  assert.match(short.message, /^password: /);
  const email = await apiError(await admin(s, 'POST', '/api/v1/users', { username: 'bob', password: 'long-enough', email: 'not-an-email' }), 400, 'BAD_REQUEST');
  assert.match(email.message, /^email: /);
  const extra = await apiError(await admin(s, 'POST', '/api/v1/users', { username: 'bob', password: 'long-enough', role: 'admin' }), 400, 'BAD_REQUEST');
  assert.match(extra.message, /role/);
  // None of the refused requests created anything; a password of exactly 8 characters is enough.
  await okJson(await admin(s, 'POST', '/api/v1/users', { username: 'bob', password: '12345678' }), 201);
  assert.deepEqual((await okJson<UserJson[]>(await admin(s, 'GET', '/api/v1/users'))).map((u) => u.username).sort(), ['admin', 'alice', 'bob']);

  // GET and PATCH one user; DELETE; then it is gone and cannot sign in.
  assert.equal((await okJson<UserJson>(await admin(s, 'GET', '/api/v1/users/bob'))).username, 'bob');
  const patched = await okJson<UserJson>(await admin(s, 'PATCH', '/api/v1/users/bob', { email: 'bob@example.com' }));
  assert.equal(patched.email, 'bob@example.com');
  assert.equal((await okJson<UserJson>(await admin(s, 'GET', '/api/v1/users/bob'))).email, 'bob@example.com');
  assert.equal((await call(s, basicAuth('bob', '12345678'), 'GET', '/api/v1/users/current')).status, 200);
  assert.equal((await admin(s, 'DELETE', '/api/v1/users/bob')).status, 204);
  await apiError(await admin(s, 'GET', '/api/v1/users/bob'), 404, 'NOT_FOUND');
  await apiError(await admin(s, 'DELETE', '/api/v1/users/bob'), 404, 'NOT_FOUND');
  await apiError(await call(s, basicAuth('bob', '12345678'), 'GET', '/api/v1/users/current'), 401, 'UNAUTHORIZED');
});

test('users: the last administrator cannot be demoted or deleted, and nobody deletes their own account', async (t) => {
  const s = await startTestServer(t);
  const demote = await apiError(await admin(s, 'PATCH', '/api/v1/users/admin', { admin: false }), 409, 'CONFLICT');
  assert.match(demote.message, /last administrator/);
  const self = await apiError(await admin(s, 'DELETE', '/api/v1/users/admin'), 409, 'CONFLICT');
  assert.match(self.message, /own account/);
  assert.equal((await okJson<UserJson>(await admin(s, 'GET', '/api/v1/users/admin'))).admin, true);

  // With a second administrator, either may be demoted: the rule is about the last one.
  await createUser(s, 'root2', 'root2-password', true);
  const root2 = basicAuth('root2', 'root2-password');
  assert.equal((await okJson<UserJson>(await admin(s, 'PATCH', '/api/v1/users/root2', { admin: false }))).admin, false);
  // root2's remembered login is forgotten: it is no longer an administrator.
  await apiError(await call(s, root2, 'GET', '/api/v1/users'), 403, 'FORBIDDEN');
  await apiError(await admin(s, 'PATCH', '/api/v1/users/admin', { admin: false }), 409, 'CONFLICT');

  // Promote again; now root2 may delete admin's admin right, and then admin is last no more... root2 is.
  assert.equal((await okJson<UserJson>(await admin(s, 'PATCH', '/api/v1/users/root2', { admin: true }))).admin, true);
  assert.equal((await call(s, root2, 'GET', '/api/v1/users')).status, 200);
  assert.equal((await okJson<UserJson>(await call(s, root2, 'PATCH', '/api/v1/users/admin', { admin: false }))).admin, false);
  const last = await apiError(await call(s, root2, 'PATCH', '/api/v1/users/root2', { admin: false }), 409, 'CONFLICT');
  assert.match(last.message, /last administrator/);
  await apiError(await call(s, root2, 'DELETE', '/api/v1/users/root2'), 409, 'CONFLICT');
  // A non-admin deleting is refused before anything else.
  await apiError(await admin(s, 'DELETE', '/api/v1/users/root2'), 403, 'FORBIDDEN');
  // And root2 may delete admin (no longer an administrator).
  assert.equal((await call(s, root2, 'DELETE', '/api/v1/users/admin')).status, 204);
  assert.deepEqual((await okJson<UserJson[]>(await call(s, root2, 'GET', '/api/v1/users'))).map((u) => [u.username, u.admin]), [['root2', true]]);
});

test('users: two administrators demoting each other at the same time leave at least one administrator', async (t) => {
  const s = await startTestServer(t);
  await createUser(s, 'root2', 'root2-password', true);
  const root2 = basicAuth('root2', 'root2-password');
  // Warm both logins so the two PATCHes race on the admin check, not on password hashing.
  assert.equal((await call(s, root2, 'GET', '/api/v1/users/current')).status, 200);
  assert.equal((await admin(s, 'GET', '/api/v1/users/current')).status, 200);
  const [a, b] = await Promise.all([admin(s, 'PATCH', '/api/v1/users/root2', { admin: false }), call(s, root2, 'PATCH', '/api/v1/users/admin', { admin: false })]);
  const statuses = [a.status, b.status].sort();
  await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
  // Whoever is still an administrator can list the users; when nobody is, neither can.
  let admins: string[] = [];
  for (const auth of [s.adminAuth, root2]) {
    const res = await call(s, auth, 'GET', '/api/v1/users');
    if (res.status === 200) {
      admins = ((await res.json()) as UserJson[]).filter((u) => u.admin).map((u) => u.username);
      break;
    }
    await res.arrayBuffer();
  }
  assert.ok(admins.length >= 1, `no administrator left (PATCH statuses ${statuses.join(', ')})`);
  // One demotion went through; the other was refused, as the last administrator's (409) or as no longer an administrator's (403).
  assert.equal(statuses[0], 200);
  assert.ok(statuses[1] === 403 || statuses[1] === 409, `second PATCH answered ${statuses[1]}`);
  assert.equal(admins.length, 1);
});

test('users: changing your own password needs the right oldPassword; the new one works at once and the old one fails', async (t) => {
  const s = await startTestServer(t, { config: { auth: { maxFailedLogins: 100 } } });
  await createUser(s, 'carol', 'carol-old-password');
  const old = basicAuth('carol', 'carol-old-password');
  const next = basicAuth('carol', 'carol-new-password');
  // Signed in (and so remembered by the credential cache) with the old password.
  assert.equal((await call(s, old, 'GET', '/api/v1/users/current')).status, 200);

  const wrong = await apiError(await call(s, old, 'PUT', '/api/v1/users/carol/password', { oldPassword: 'not-my-password', newPassword: 'carol-new-password' }), 403, 'FORBIDDEN');
  assert.match(wrong.message, /oldPassword/);
  await apiError(await call(s, old, 'PUT', '/api/v1/users/carol/password', { newPassword: 'carol-new-password' }), 403, 'FORBIDDEN');
  await apiError(await call(s, old, 'PUT', '/api/v1/users/carol/password', { oldPassword: 'carol-old-password', newPassword: 'short' }), 400, 'BAD_REQUEST');
  // Nothing changed so far.
  assert.equal((await call(s, old, 'GET', '/api/v1/users/current')).status, 200);
  await apiError(await call(s, next, 'GET', '/api/v1/users/current'), 401, 'UNAUTHORIZED');

  assert.equal((await call(s, old, 'PUT', '/api/v1/users/carol/password', { oldPassword: 'carol-old-password', newPassword: 'carol-new-password' })).status, 204);
  assert.equal((await call(s, next, 'GET', '/api/v1/users/current')).status, 200);
  const res = await call(s, old, 'GET', '/api/v1/users/current');
  await apiError(res, 401, 'UNAUTHORIZED');
  assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/);
  // The registry API sees the change too.
  assert.equal((await call(s, old, 'GET', '/v2/')).status, 401);
  assert.equal((await call(s, next, 'GET', '/v2/')).status, 200);

  // Another user's password: only administrators, and they need no oldPassword.
  await createUser(s, 'dave', 'dave-password');
  await apiError(await call(s, next, 'PUT', '/api/v1/users/dave/password', { oldPassword: 'dave-password', newPassword: 'hijacked-password' }), 403, 'FORBIDDEN');
  assert.equal((await admin(s, 'PUT', '/api/v1/users/dave/password', { newPassword: 'dave-new-password' })).status, 204);
  assert.equal((await call(s, basicAuth('dave', 'dave-new-password'), 'GET', '/api/v1/users/current')).status, 200);
  assert.equal((await call(s, basicAuth('dave', 'dave-password'), 'GET', '/api/v1/users/current')).status, 401);
  await apiError(await admin(s, 'PUT', '/api/v1/users/nobody/password', { newPassword: 'whatever-long' }), 404, 'NOT_FOUND');
});

// --------------------------------------------------------------------------------- projects

test('projects: the creator becomes project-admin; names are validated; duplicates 409', async (t) => {
  const s = await startTestServer(t);
  await createUser(s, 'erin', 'erin-password');
  const erin = basicAuth('erin', 'erin-password');
  const created = await okJson<{ name: string; public: boolean; repositoryCount: number }>(await call(s, erin, 'POST', '/api/v1/projects', { name: 'erins' }), 201);
  assert.deepEqual([created.name, created.public, created.repositoryCount], ['erins', false, 0]);
  assert.deepEqual(await okJson(await call(s, erin, 'GET', '/api/v1/projects/erins/members')), [{ username: 'erin', role: 'project-admin' }]);
  const seen = await okJson<{ role: string; actions: string[] }>(await call(s, erin, 'GET', '/api/v1/projects/erins'));
  assert.equal(seen.role, 'project-admin');
  assert.deepEqual([...seen.actions].sort(), ['delete', 'pull', 'push']);
  const me = await okJson<{ memberships: unknown[] }>(await call(s, erin, 'GET', '/api/v1/users/current'));
  assert.deepEqual(me.memberships, [{ project: 'erins', role: 'project-admin' }]);
  // And may push to it through /v2.
  await pushImage(s, 'erins/app', 'v1', { auth: erin });

  // An administrator's project gets no member (administrators can do everything anyway).
  await okJson(await admin(s, 'POST', '/api/v1/projects', { name: 'adminsown' }), 201);
  assert.deepEqual(await okJson(await admin(s, 'GET', '/api/v1/projects/adminsown/members')), []);

  await apiError(await call(s, erin, 'POST', '/api/v1/projects', { name: 'adminsown' }), 409, 'CONFLICT');
  for (const bad of ['UPPER', 'has/slash', '-dash', '']) {
    const e = await apiError(await admin(s, 'POST', '/api/v1/projects', { name: bad }), 400, 'BAD_REQUEST');
    assert.match(e.message, /^name: /);
  }
  await apiError(await admin(s, 'POST', '/api/v1/projects', { name: 'ok', public: 'yes' }), 400, 'BAD_REQUEST');
  await apiError(await admin(s, 'GET', '/api/v1/projects/missing'), 404, 'NOT_FOUND');
});

test('projects: public ones can be pulled and listed anonymously, private ones cannot', async (t) => {
  const s = await startTestServer(t);
  await createProject(s, 'pub', true);
  await createProject(s, 'priv', false);
  const image = await pushImage(s, 'pub/app', 'latest');
  await pushImage(s, 'priv/app', 'latest');

  const projects = await okJson<{ name: string; public: boolean; repositoryCount: number }[]>(await call(s, undefined, 'GET', '/api/v1/projects'));
  assert.deepEqual(projects.map((p) => [p.name, p.public, p.repositoryCount]), [['pub', true, 1]]);
  const repos = await okJson<{ name: string }[]>(await call(s, undefined, 'GET', '/api/v1/projects/pub/repositories'));
  assert.deepEqual(repos.map((r) => r.name), ['pub/app']);

  const manifest = await call(s, undefined, 'GET', '/v2/pub/app/manifests/latest', undefined, { Accept: 'application/vnd.oci.image.manifest.v1+json' });
  assert.equal(manifest.status, 200);
  assert.equal(manifest.headers.get('docker-content-digest'), image.digest);
  assert.equal((await manifest.arrayBuffer()).byteLength, image.manifestBytes);
  const layer = await call(s, undefined, 'GET', `/v2/pub/app/blobs/${image.layerDigests[0]}`);
  assert.equal(layer.status, 200);
  assert.equal((await layer.arrayBuffer()).byteLength, image.layerSizes[0]);
  // Anonymous callers may pull, not push.
  const push = await call(s, undefined, 'POST', '/v2/pub/app/blobs/uploads/');
  assert.equal(push.status, 401);

  const hidden = await call(s, undefined, 'GET', '/v2/priv/app/manifests/latest');
  assert.equal(hidden.status, 401);
  assert.match(hidden.headers.get('www-authenticate') ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/service\/token",service="portcullis",scope="repository:priv\/app:pull"/);
  await apiError(await call(s, undefined, 'GET', '/api/v1/projects/priv'), 401, 'UNAUTHORIZED');
  await apiError(await call(s, undefined, 'GET', '/api/v1/projects/priv/repositories'), 401, 'UNAUTHORIZED');

  // Flipping the flag flips what anonymous callers see.
  assert.equal((await okJson<{ public: boolean }>(await admin(s, 'PATCH', '/api/v1/projects/priv', { public: true }))).public, true);
  assert.equal((await call(s, undefined, 'GET', '/v2/priv/app/manifests/latest')).status, 200);
  assert.equal((await okJson<{ public: boolean }>(await admin(s, 'PATCH', '/api/v1/projects/pub', { public: false }))).public, false);
  assert.equal((await call(s, undefined, 'GET', '/v2/pub/app/manifests/latest')).status, 401);
  assert.deepEqual((await okJson<{ name: string }[]>(await call(s, undefined, 'GET', '/api/v1/projects'))).map((p) => p.name), ['priv']);
});

test('projects: deleting one is refused while it has repositories', async (t) => {
  const s = await startTestServer(t);
  await createProject(s, 'full');
  await pushImage(s, 'full/app', 'latest');
  await pushImage(s, 'full/tools/lint', 'latest');
  assert.equal((await okJson<{ repositoryCount: number }>(await admin(s, 'GET', '/api/v1/projects/full'))).repositoryCount, 2);
  const refused = await apiError(await admin(s, 'DELETE', '/api/v1/projects/full'), 409, 'CONFLICT');
  assert.match(refused.message, /2 repositories/);
  assert.equal((await admin(s, 'GET', '/api/v1/projects/full')).status, 200);
  assert.equal((await admin(s, 'DELETE', '/api/v1/projects/full/repositories/app')).status, 204);
  assert.equal((await admin(s, 'DELETE', '/api/v1/projects/full/repositories/tools%2Flint')).status, 204);
  assert.equal((await okJson<{ repositoryCount: number }>(await admin(s, 'GET', '/api/v1/projects/full'))).repositoryCount, 0);
  assert.equal((await admin(s, 'DELETE', '/api/v1/projects/full')).status, 204);
  await apiError(await admin(s, 'GET', '/api/v1/projects/full'), 404, 'NOT_FOUND');
  await apiError(await admin(s, 'DELETE', '/api/v1/projects/full'), 404, 'NOT_FOUND');
  // Its name is free again, and the new project starts empty.
  await createProject(s, 'full');
  assert.deepEqual(await okJson(await admin(s, 'GET', '/api/v1/projects/full/repositories')), []);
});

test('projects: with projects.creation adminonly only administrators create projects', async (t) => {
  const s = await startTestServer(t, { config: { projects: { creation: 'adminonly' } } });
  await createUser(s, 'frank', 'frank-password');
  const e = await apiError(await call(s, basicAuth('frank', 'frank-password'), 'POST', '/api/v1/projects', { name: 'franks' }), 403, 'FORBIDDEN');
  assert.match(e.message, /administrators/);
  await apiError(await admin(s, 'GET', '/api/v1/projects/franks'), 404, 'NOT_FOUND');
  assert.equal((await admin(s, 'POST', '/api/v1/projects', { name: 'franks' })).status, 201);
});

// ---------------------------------------------------------------------------------- members

test('members: roles decide what each member may do; unknown users and bad roles are refused', async (t) => {
  const s = await startTestServer(t);
  await createProject(s, 'team');
  await pushImage(s, 'team/app', 'latest');
  for (const u of ['gina', 'hank', 'ivan', 'judy']) await createUser(s, u, `${u}-password`);
  assert.deepEqual(await okJson(await admin(s, 'POST', '/api/v1/projects/team/members', { username: 'gina', role: 'guest' }), 201), { username: 'gina', role: 'guest' });
  assert.deepEqual(await okJson(await admin(s, 'PUT', '/api/v1/projects/team/members/hank', { role: 'developer' })), { username: 'hank', role: 'developer' });
  await addMember(s, 'team', 'ivan', 'maintainer');
  await addMember(s, 'team', 'judy', 'project-admin');
  assert.deepEqual(await okJson(await admin(s, 'GET', '/api/v1/projects/team/members')), [
    { username: 'gina', role: 'guest' },
    { username: 'hank', role: 'developer' },
    { username: 'ivan', role: 'maintainer' },
    { username: 'judy', role: 'project-admin' },
  ]);

  const as = (u: string) => basicAuth(u, `${u}-password`);
  const manifest = (u: string, method = 'GET') => call(s, as(u), method, '/v2/team/app/manifests/latest');
  // guest: pull only
  assert.equal((await manifest('gina')).status, 200);
  assert.equal((await call(s, as('gina'), 'POST', '/v2/team/app/blobs/uploads/')).status, 403);
  // developer: pull and push, no delete
  const dev = await pushImage(s, 'team/app', 'dev', { auth: as('hank') });
  assert.equal((await call(s, as('hank'), 'DELETE', `/v2/team/app/manifests/${dev.digest}`)).status, 403);
  await apiError(await call(s, as('hank'), 'DELETE', `/api/v1/projects/team/repositories/app/artifacts/dev`), 403, 'FORBIDDEN');
  // maintainer: delete too, but no member management
  assert.equal((await call(s, as('ivan'), 'DELETE', `/v2/team/app/manifests/${dev.digest}`)).status, 202);
  await apiError(await call(s, as('ivan'), 'PUT', '/api/v1/projects/team/members/gina', { role: 'developer' }), 403, 'FORBIDDEN');
  // project-admin: manages members
  assert.equal((await call(s, as('judy'), 'PUT', '/api/v1/projects/team/members/gina', { role: 'developer' })).status, 200);
  assert.equal((await call(s, as('gina'), 'POST', '/v2/team/app/blobs/uploads/')).status, 202);

  await apiError(await admin(s, 'PUT', '/api/v1/projects/team/members/nosuchuser', { role: 'guest' }), 404, 'NOT_FOUND');
  await apiError(await admin(s, 'POST', '/api/v1/projects/team/members', { username: 'nosuchuser', role: 'guest' }), 404, 'NOT_FOUND');
  const badRole = await apiError(await admin(s, 'PUT', '/api/v1/projects/team/members/gina', { role: 'owner' }), 400, 'BAD_REQUEST');
  assert.match(badRole.message, /^role: /);
  await apiError(await admin(s, 'POST', '/api/v1/projects/team/members', { username: 'gina' }), 400, 'BAD_REQUEST');
  await apiError(await admin(s, 'PUT', '/api/v1/projects/nosuchproject/members/gina', { role: 'guest' }), 404, 'NOT_FOUND');

  // Removing a member takes their access away at once.
  assert.equal((await admin(s, 'DELETE', '/api/v1/projects/team/members/gina')).status, 204);
  assert.equal((await manifest('gina')).status, 403);
  await apiError(await call(s, as('gina'), 'GET', '/api/v1/projects/team'), 404, 'NOT_FOUND');
  await apiError(await admin(s, 'DELETE', '/api/v1/projects/team/members/gina'), 404, 'NOT_FOUND');
  assert.deepEqual(
    (await okJson<{ username: string }[]>(await admin(s, 'GET', '/api/v1/projects/team/members'))).map((m) => m.username),
    ['hank', 'ivan', 'judy'],
  );
  // Deleting a user removes their memberships.
  assert.equal((await admin(s, 'DELETE', '/api/v1/users/hank')).status, 204);
  assert.deepEqual((await okJson<{ username: string }[]>(await admin(s, 'GET', '/api/v1/projects/team/members'))).map((m) => m.username), ['ivan', 'judy']);
});

test('members: the last project-admin can neither leave nor be demoted, by himself or by a system administrator', async (t) => {
  const s = await startTestServer(t);
  await createUser(s, 'bob', 'bob-password');
  await createUser(s, 'cleo', 'cleo-password');
  const bob = basicAuth('bob', 'bob-password');
  const cleo = basicAuth('cleo', 'cleo-password');
  assert.equal((await call(s, bob, 'POST', '/api/v1/projects', { name: 'team' })).status, 201);
  await addMember(s, 'team', 'cleo', 'developer');

  const demote = await apiError(await call(s, bob, 'PUT', '/api/v1/projects/team/members/bob', { role: 'developer' }), 409, 'CONFLICT');
  assert.equal(demote.message, '"bob" is the last project-admin of "team": make another member project-admin first');
  await apiError(await call(s, bob, 'DELETE', '/api/v1/projects/team/members/bob'), 409, 'CONFLICT');
  await apiError(await call(s, bob, 'POST', '/api/v1/projects/team/members', { username: 'bob', role: 'guest' }), 409, 'CONFLICT');
  // The project would be left without an admin all the same.
  await apiError(await admin(s, 'PUT', '/api/v1/projects/team/members/bob', { role: 'guest' }), 409, 'CONFLICT');
  await apiError(await admin(s, 'DELETE', '/api/v1/projects/team/members/bob'), 409, 'CONFLICT');
  const members = () => admin(s, 'GET', '/api/v1/projects/team/members').then((r) => okJson<{ username: string; role: string }[]>(r));
  assert.deepEqual(await members(), [
    { username: 'bob', role: 'project-admin' },
    { username: 'cleo', role: 'developer' },
  ]);

  // With a second project-admin, bob may step down, and then cleo is the last one.
  assert.equal((await call(s, bob, 'PUT', '/api/v1/projects/team/members/cleo', { role: 'project-admin' })).status, 200);
  assert.equal((await call(s, bob, 'DELETE', '/api/v1/projects/team/members/bob')).status, 204);
  await apiError(await call(s, cleo, 'PUT', '/api/v1/projects/team/members/cleo', { role: 'maintainer' }), 409, 'CONFLICT');
  assert.deepEqual(await members(), [{ username: 'cleo', role: 'project-admin' }]);

  // Two project-admins demoting each other at once: one goes through, the other is refused.
  await addMember(s, 'team', 'bob', 'project-admin');
  // Warm both logins so the two requests race on the store, not on password hashing.
  assert.equal((await call(s, bob, 'GET', '/api/v1/projects/team')).status, 200);
  assert.equal((await call(s, cleo, 'GET', '/api/v1/projects/team')).status, 200);
  const [a, b] = await Promise.all([call(s, bob, 'PUT', '/api/v1/projects/team/members/cleo', { role: 'guest' }), call(s, cleo, 'DELETE', '/api/v1/projects/team/members/bob')]);
  await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
  const statuses = [a.status, b.status];
  assert.equal(statuses.filter((x) => x < 300).length, 1, statuses.join(', '));
  // The loser was refused as the last project-admin's (409), or as no longer a project-admin (403).
  assert.ok(statuses.some((x) => x === 409 || x === 403), statuses.join(', '));
  assert.equal((await members()).filter((m) => m.role === 'project-admin').length, 1);
});

// ----------------------------------------------------------------------------------- robots

test('robots: the secret is shown once at creation and never again', async (t) => {
  const s = await startTestServer(t);
  await createProject(s, 'team');
  const res = await admin(s, 'POST', '/api/v1/robots', { name: 'ci', description: 'CI pipeline', permissions: [{ project: 'team', actions: ['pull', 'push'] }] });
  const created = await okJson<{ name: string; secret: string; permissions: unknown; disabled: boolean; expired: boolean; expiresAt: unknown; createdBy: string }>(res, 201);
  assert.equal(created.name, 'robot$ci');
  assert.equal(typeof created.secret, 'string');
  assert.ok(created.secret.length >= 32, 'a robot secret should be long and random');
  assert.deepEqual(created.permissions, [{ project: 'team', actions: ['pull', 'push'] }]);
  assert.deepEqual([created.disabled, created.expired, created.expiresAt, created.createdBy], [false, false, null, 'admin']);

  for (const path of ['/api/v1/robots', '/api/v1/robots/ci', '/api/v1/robots/robot$ci']) {
    const text = await (await admin(s, 'GET', path)).text();
    assert.ok(!text.includes(created.secret), `${path} shows the secret`);
    assert.ok(!text.includes('"secret"'), `${path} has a secret field`);
  }
  const patched = await (await admin(s, 'PATCH', '/api/v1/robots/ci', { description: 'changed' })).text();
  assert.ok(!patched.includes(created.secret) && !patched.includes('"secret"'));
  const listed = await okJson<{ name: string; description: string }[]>(await admin(s, 'GET', '/api/v1/robots'));
  assert.deepEqual(listed.map((r) => [r.name, r.description]), [['robot$ci', 'changed']]);

  await apiError(await admin(s, 'POST', '/api/v1/robots', { name: 'ci', permissions: [{ project: 'team', actions: ['pull'] }] }), 409, 'CONFLICT');
  for (const body of [
    { name: 'Bad Name', permissions: [{ project: 'team', actions: ['pull'] }] },
    { name: 'nopers', permissions: [] },
    { name: 'noacts', permissions: [{ project: 'team', actions: [] }] },
    { name: 'badact', permissions: [{ project: 'team', actions: ['own'] }] },
    { name: 'expiry', permissions: [{ project: 'team', actions: ['pull'] }], expiresInDays: 0 },
  ]) {
    await apiError(await admin(s, 'POST', '/api/v1/robots', body), 400, 'BAD_REQUEST');
  }
  await apiError(await admin(s, 'GET', '/api/v1/robots/nosuchbot'), 404, 'NOT_FOUND');
});

test('robots: a project named twice in the permissions is a client error, not an internal one', async (t) => {
  const s = await startTestServer(t);
  await createProject(s, 'team');
  // What `portcullis robot create ci -p team:pull -p team:push` sends.
  const res = await admin(s, 'POST', '/api/v1/robots', { name: 'twice', permissions: [{ project: 'team', actions: ['pull'] }, { project: 'team', actions: ['push'] }] });
  const text = await res.text();
  assert.notEqual(res.status, 500, `500 for a request the client can fix: ${text}`);
  if (res.status === 201) {
    // Merging the two entries would be fine too.
    assert.deepEqual((JSON.parse(text) as { permissions: unknown }).permissions, [{ project: 'team', actions: ['pull', 'push'] }]);
  } else {
    assert.equal(res.status, 400, text);
    assert.match(text, /permissions/);
  }
});

test('robots: sign in on /v2 with robot$name and the secret; disabling, rotating and deleting take effect at once', async (t) => {
  const s = await startTestServer(t, { config: { auth: { maxFailedLogins: 100 } } });
  await createProject(s, 'team');
  await createProject(s, 'other');
  await pushImage(s, 'team/app', 'latest');
  await pushImage(s, 'other/app', 'latest');
  const robot = await createRobot(s, 'ci', [{ project: 'team', actions: ['pull', 'push'] }]);
  const auth = basicAuth(robot.name, robot.secret);

  assert.equal((await call(s, auth, 'GET', '/v2/')).status, 200);
  assert.equal((await call(s, auth, 'GET', '/v2/team/app/manifests/latest')).status, 200);
  await pushImage(s, 'team/app', 'from-ci', { auth });
  assert.equal((await call(s, auth, 'DELETE', '/v2/team/app/manifests/from-ci')).status, 403);
  assert.equal((await call(s, auth, 'GET', '/v2/other/app/manifests/latest')).status, 403);
  assert.equal((await call(s, basicAuth('ci', robot.secret), 'GET', '/v2/')).status, 401, 'the robot$ prefix is part of the login name');
  assert.equal((await call(s, basicAuth(robot.name, 'wrong-secret'), 'GET', '/v2/')).status, 401);
  const me = await okJson<{ kind: string; name: string }>(await call(s, auth, 'GET', '/api/v1/users/current'));
  assert.deepEqual([me.kind, me.name], ['robot', 'robot$ci']);

  assert.equal((await okJson<{ disabled: boolean }>(await admin(s, 'PATCH', '/api/v1/robots/ci', { disabled: true }))).disabled, true);
  assert.equal((await call(s, auth, 'GET', '/v2/')).status, 401);
  assert.equal((await call(s, auth, 'GET', '/service/token?service=portcullis')).status, 401);
  assert.equal((await okJson<{ disabled: boolean }>(await admin(s, 'PATCH', '/api/v1/robots/ci', { disabled: false }))).disabled, false);
  assert.equal((await call(s, auth, 'GET', '/v2/')).status, 200);

  const rotated = await okJson<{ name: string; secret: string }>(await admin(s, 'POST', '/api/v1/robots/ci/secret'));
  assert.equal(rotated.name, 'robot$ci');
  assert.notEqual(rotated.secret, robot.secret);
  assert.equal((await call(s, auth, 'GET', '/v2/')).status, 401);
  const auth2 = basicAuth(robot.name, rotated.secret);
  assert.equal((await call(s, auth2, 'GET', '/v2/team/app/manifests/latest')).status, 200);

  assert.equal((await admin(s, 'DELETE', '/api/v1/robots/robot$ci')).status, 204);
  assert.equal((await call(s, auth2, 'GET', '/v2/')).status, 401);
  await apiError(await admin(s, 'GET', '/api/v1/robots/ci'), 404, 'NOT_FOUND');
});

test('robots: an expired robot can no longer sign in', async (t) => {
  const c = clock();
  const s = await startTestServer(t, { now: c.now });
  await createProject(s, 'team');
  await pushImage(s, 'team/app', 'latest');
  const res = await admin(s, 'POST', '/api/v1/robots', { name: 'shortlived', permissions: [{ project: 'team', actions: ['pull'] }], expiresInDays: 1 });
  const robot = await okJson<{ name: string; secret: string; expiresAt: string; expired: boolean }>(res, 201);
  assert.equal(robot.expiresAt, new Date(c.now() + 86_400_000).toISOString());
  assert.equal(robot.expired, false);
  const auth = basicAuth(robot.name, robot.secret);
  assert.equal((await call(s, auth, 'GET', '/v2/team/app/manifests/latest')).status, 200);
  // A token issued before expiry stops working with it too.
  const token = (await okJson<{ token: string }>(await call(s, auth, 'GET', '/service/token?service=portcullis&scope=repository:team/app:pull'))).token;

  c.advance(86_400_000 - 60_000);
  assert.equal((await call(s, auth, 'GET', '/v2/')).status, 200, 'still valid a minute before it expires');

  c.advance(2 * 60_000);
  assert.equal((await call(s, auth, 'GET', '/v2/')).status, 401);
  assert.equal((await call(s, auth, 'GET', '/v2/team/app/manifests/latest')).status, 401);
  await apiError(await call(s, auth, 'GET', '/api/v1/users/current'), 401, 'UNAUTHORIZED');
  assert.equal((await call(s, `Bearer ${token}`, 'GET', '/api/v1/users/current')).status, 401);
  const shown = await okJson<{ expired: boolean }>(await admin(s, 'GET', '/api/v1/robots/shortlived'));
  assert.equal(shown.expired, true);
});

test('robots: project admins create and manage robots only within the projects they administer', async (t) => {
  const s = await startTestServer(t);
  await createProject(s, 'team');
  await createProject(s, 'other');
  await createUser(s, 'kate', 'kate-password');
  await createUser(s, 'leo', 'leo-password');
  await addMember(s, 'team', 'kate', 'project-admin');
  await addMember(s, 'other', 'kate', 'maintainer');
  await addMember(s, 'team', 'leo', 'maintainer');
  const kate = basicAuth('kate', 'kate-password');

  const mine = await okJson<{ name: string; createdBy: string; secret: string }>(await call(s, kate, 'POST', '/api/v1/robots', { name: 'katebot', permissions: [{ project: 'team', actions: ['pull', 'push', 'delete'] }] }), 201);
  assert.equal(mine.createdBy, 'kate');
  await apiError(await call(s, kate, 'POST', '/api/v1/robots', { name: 'otherbot', permissions: [{ project: 'other', actions: ['pull'] }] }), 403, 'FORBIDDEN');
  await apiError(
    await call(s, kate, 'POST', '/api/v1/robots', { name: 'mixedbot', permissions: [{ project: 'team', actions: ['pull'] }, { project: 'other', actions: ['pull'] }] }),
    403,
    'FORBIDDEN',
  );
  await apiError(await call(s, basicAuth('leo', 'leo-password'), 'POST', '/api/v1/robots', { name: 'leobot', permissions: [{ project: 'team', actions: ['pull'] }] }), 403, 'FORBIDDEN');
  // Nothing was created by the refused requests.
  assert.deepEqual((await okJson<{ name: string }[]>(await admin(s, 'GET', '/api/v1/robots'))).map((r) => r.name), ['robot$katebot']);

  // Robots reaching beyond kate's projects are invisible to her.
  await createRobot(s, 'adminbot', [{ project: 'other', actions: ['pull'] }]);
  await createRobot(s, 'spanbot', [{ project: 'team', actions: ['pull'] }, { project: 'other', actions: ['pull'] }]);
  assert.deepEqual((await okJson<{ name: string }[]>(await call(s, kate, 'GET', '/api/v1/robots'))).map((r) => r.name), ['robot$katebot']);
  for (const name of ['adminbot', 'spanbot']) {
    await apiError(await call(s, kate, 'GET', `/api/v1/robots/${name}`), 404, 'NOT_FOUND');
    await apiError(await call(s, kate, 'PATCH', `/api/v1/robots/${name}`, { disabled: true }), 404, 'NOT_FOUND');
    await apiError(await call(s, kate, 'POST', `/api/v1/robots/${name}/secret`), 404, 'NOT_FOUND');
    await apiError(await call(s, kate, 'DELETE', `/api/v1/robots/${name}`), 404, 'NOT_FOUND');
  }
  assert.equal((await okJson<{ name: string }[]>(await admin(s, 'GET', '/api/v1/robots'))).length, 3);
  assert.equal((await call(s, kate, 'POST', '/api/v1/robots/katebot/secret')).status, 200);
  assert.equal((await call(s, kate, 'DELETE', '/api/v1/robots/katebot')).status, 204);

  // Losing the project-admin role loses the robots with it.
  await createRobot(s, 'teambot', [{ project: 'team', actions: ['pull'] }]);
  assert.equal((await call(s, kate, 'GET', '/api/v1/robots/teambot')).status, 200);
  // (Someone else must hold project-admin first: the last one cannot be demoted.)
  await addMember(s, 'team', 'leo', 'project-admin');
  await addMember(s, 'team', 'kate', 'developer');
  await apiError(await call(s, kate, 'GET', '/api/v1/robots/teambot'), 404, 'NOT_FOUND');
});

// ------------------------------------------------------------------- repositories, artifacts

test('repositories and artifacts: listing shows tags, total size and push time; get by tag or digest; delete', async (t) => {
  const c = clock(Date.UTC(2030, 0, 2, 3, 4, 5, 678));
  const s = await startTestServer(t, { now: c.now });
  await createProject(s, 'team');
  const pushedAt = new Date(c.now()).toISOString();
  const one = await pushImage(s, 'team/app', 'latest', { layers: [1234, 5678, 42] });
  // The same manifest under a second tag.
  const again = await call(s, s.adminAuth, 'GET', '/v2/team/app/manifests/latest', undefined, { Accept: 'application/vnd.oci.image.manifest.v1+json' });
  const body = Buffer.from(await again.arrayBuffer());
  const put = await fetch(`${s.url}/v2/team/app/manifests/v1`, { method: 'PUT', headers: { Authorization: s.adminAuth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body });
  assert.equal(put.status, 201);
  c.advance(60_000);
  const two = await pushImage(s, 'team/app', 'next', { layers: [10] });
  await pushImage(s, 'team/nested/deep', 'x', { layers: [1] });

  const artifacts = await okJson<ArtifactJson[]>(await admin(s, 'GET', '/api/v1/projects/team/repositories/app/artifacts'));
  const byDigest = new Map(artifacts.map((a) => [a.digest, a]));
  assert.equal(artifacts.length, 2);
  const a1 = byDigest.get(one.digest);
  assert.ok(a1 !== undefined, 'first image missing');
  assert.deepEqual([...a1.tags].sort(), ['latest', 'v1']);
  assert.equal(a1.size, one.manifestBytes + one.configSize + 1234 + 5678 + 42);
  assert.equal(a1.pushedAt, pushedAt);
  assert.equal(a1.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  const a2 = byDigest.get(two.digest);
  assert.ok(a2 !== undefined, 'second image missing');
  assert.deepEqual(a2.tags, ['next']);
  assert.equal(a2.size, two.manifestBytes + two.configSize + 10);
  assert.equal(a2.pushedAt, new Date(Date.UTC(2030, 0, 2, 3, 5, 5, 678)).toISOString());

  const byTag = await okJson<ArtifactJson>(await admin(s, 'GET', '/api/v1/projects/team/repositories/app/artifacts/latest'));
  const byRef = await okJson<ArtifactJson>(await admin(s, 'GET', `/api/v1/projects/team/repositories/app/artifacts/${one.digest}`));
  assert.equal(byTag.digest, one.digest);
  assert.deepEqual(byRef, byTag);
  assert.deepEqual(byTag.referrers, []);
  await apiError(await admin(s, 'GET', '/api/v1/projects/team/repositories/app/artifacts/nosuchtag'), 404, 'NOT_FOUND');
  await apiError(await admin(s, 'GET', `/api/v1/projects/team/repositories/app/artifacts/sha256:${'0'.repeat(64)}`), 404, 'NOT_FOUND');

  // Repositories with slashes, addressed with %2F as the CLI does.
  const nested = await okJson<ArtifactJson[]>(await admin(s, 'GET', '/api/v1/projects/team/repositories/nested%2Fdeep/artifacts'));
  assert.deepEqual(nested.map((a) => a.tags), [['x']]);
  const repos = await okJson<{ name: string; project: string; artifactCount: number }[]>(await admin(s, 'GET', '/api/v1/projects/team/repositories'));
  assert.deepEqual(repos.map((r) => [r.name, r.project, r.artifactCount]), [['team/app', 'team', 2], ['team/nested/deep', 'team', 1]]);
  assert.deepEqual((await okJson<{ name: string }[]>(await admin(s, 'GET', '/api/v1/projects/team/repositories?page_size=1'))).map((r) => r.name), ['team/app']);
  assert.deepEqual((await okJson<{ name: string }[]>(await admin(s, 'GET', '/api/v1/projects/team/repositories?page_size=1&last=team/app'))).map((r) => r.name), ['team/nested/deep']);
  await apiError(await admin(s, 'GET', '/api/v1/projects/team/repositories?page_size=0'), 400, 'BAD_REQUEST');
  assert.equal((await okJson<{ name: string }>(await admin(s, 'GET', '/api/v1/projects/team/repositories/app'))).name, 'team/app');

  // Delete one artifact (by tag: the whole manifest goes, with both its tags).
  assert.equal((await admin(s, 'DELETE', '/api/v1/projects/team/repositories/app/artifacts/v1')).status, 204);
  assert.deepEqual((await okJson<ArtifactJson[]>(await admin(s, 'GET', '/api/v1/projects/team/repositories/app/artifacts'))).map((a) => a.digest), [two.digest]);
  assert.equal((await call(s, s.adminAuth, 'GET', '/v2/team/app/manifests/latest')).status, 404);
  assert.equal((await call(s, s.adminAuth, 'GET', `/v2/team/app/manifests/${one.digest}`)).status, 404);
  await apiError(await admin(s, 'DELETE', `/api/v1/projects/team/repositories/app/artifacts/${one.digest}`), 404, 'NOT_FOUND');

  // Delete the repository.
  assert.equal((await admin(s, 'DELETE', '/api/v1/projects/team/repositories/app')).status, 204);
  await apiError(await admin(s, 'GET', '/api/v1/projects/team/repositories/app'), 404, 'NOT_FOUND');
  assert.equal((await call(s, s.adminAuth, 'GET', '/v2/team/app/manifests/next')).status, 404);
  assert.deepEqual((await okJson<{ name: string }[]>(await admin(s, 'GET', '/api/v1/projects/team/repositories'))).map((r) => r.name), ['team/nested/deep']);
  await apiError(await admin(s, 'DELETE', '/api/v1/projects/team/repositories/app'), 404, 'NOT_FOUND');
  await apiError(await admin(s, 'GET', '/api/v1/projects/team/repositories/..%2Fescape'), 400, 'BAD_REQUEST');
});

// ----------------------------------------------------------------------------------------- gc

test('gc API: administrators only; reports and deletes unreferenced blobs past the grace period; dry runs delete nothing', async (t) => {
  const s = await startTestServer(t, { config: { gc: { grace: '0s' } } });
  await createProject(s, 'team');
  await createUser(s, 'mona', 'mona-password');
  await addMember(s, 'team', 'mona', 'project-admin');
  const image = await pushImage(s, 'team/app', 'latest');
  const loose = Buffer.from(`a blob no manifest references ${Date.now()}`);
  const looseDigest = await pushBlob(s, 'team/app', loose);
  assert.ok(existsSync(blobPath(s.dataDir, looseDigest)), 'the blob store layout is not what this test expects');
  await sleep(20);

  await apiError(await admin(s, 'GET', '/api/v1/system/gc'), 404, 'NOT_FOUND');
  await apiError(await call(s, basicAuth('mona', 'mona-password'), 'POST', '/api/v1/system/gc', {}), 403, 'FORBIDDEN');
  await apiError(await call(s, basicAuth('mona', 'mona-password'), 'GET', '/api/v1/system/gc'), 403, 'FORBIDDEN');
  await apiError(await call(s, undefined, 'POST', '/api/v1/system/gc', {}), 401, 'UNAUTHORIZED');
  await apiError(await admin(s, 'POST', '/api/v1/system/gc', { dryrun: true }), 400, 'BAD_REQUEST');

  const dry = await okJson<GcReportJson>(await admin(s, 'POST', '/api/v1/system/gc', { dryRun: true }));
  assert.equal(dry.dryRun, true);
  assert.deepEqual(dry.blobs, [{ digest: looseDigest, size: loose.byteLength }]);
  assert.equal(dry.blobsDeleted, 1);
  assert.equal(dry.bytesFreed, loose.byteLength);
  assert.ok(existsSync(blobPath(s.dataDir, looseDigest)), 'a dry run deleted the blob');
  assert.equal((await call(s, s.adminAuth, 'GET', `/v2/team/app/blobs/${looseDigest}`)).status, 200);
  await apiError(await admin(s, 'GET', '/api/v1/system/gc'), 404, 'NOT_FOUND');

  const real = await okJson<GcReportJson>(await admin(s, 'POST', '/api/v1/system/gc', {}));
  assert.equal(real.dryRun, false);
  assert.deepEqual(real.blobs, [{ digest: looseDigest, size: loose.byteLength }]);
  assert.equal(real.bytesFreed, loose.byteLength);
  assert.ok(!existsSync(blobPath(s.dataDir, looseDigest)), 'the unreferenced blob is still on disk');
  assert.equal((await call(s, s.adminAuth, 'GET', `/v2/team/app/blobs/${looseDigest}`)).status, 404);
  // What the image references stays, and the image still pulls.
  for (const d of [image.configDigest, ...image.layerDigests]) assert.ok(existsSync(blobPath(s.dataDir, d)), `${d} was collected`);
  const layer = await call(s, s.adminAuth, 'GET', `/v2/team/app/blobs/${image.layerDigests[0]}`);
  assert.equal(layer.status, 200);
  assert.equal((await layer.arrayBuffer()).byteLength, image.layerSizes[0]);

  assert.deepEqual(await okJson(await admin(s, 'GET', '/api/v1/system/gc')), real);
  const again = await okJson<GcReportJson>(await admin(s, 'POST', '/api/v1/system/gc', {}));
  assert.equal(again.blobsDeleted, 0);
  assert.deepEqual(await okJson(await admin(s, 'GET', '/api/v1/system/gc')), again);
});

test('gc API: blobs younger than the grace period are kept', async (t) => {
  const s = await startTestServer(t);
  await createProject(s, 'team');
  const digest = await pushBlob(s, 'team/app', Buffer.from('fresh and unreferenced'));
  const report = await okJson<GcReportJson>(await admin(s, 'POST', '/api/v1/system/gc', {}));
  assert.equal(report.blobsDeleted, 0);
  assert.ok(existsSync(blobPath(s.dataDir, digest)));
});

// -------------------------------------------------------------------------------------- token

test('token endpoint: GET with Basic grants the requested scopes the account may have, and records the rest as refused', async (t) => {
  const s = await startTestServer(t);
  await createProject(s, 'team');
  await createProject(s, 'secret');
  await pushImage(s, 'team/app', 'latest');
  await createUser(s, 'nina', 'nina-password');
  await addMember(s, 'team', 'nina', 'developer');
  const nina = basicAuth('nina', 'nina-password');

  const q = new URLSearchParams({ service: 'portcullis', account: 'nina' });
  q.append('scope', 'repository:team/app:pull,push,delete');
  q.append('scope', 'repository:secret/app:pull registry:catalog:*');
  const res = await call(s, nina, 'GET', `/service/token?${q}`);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const body = await okJson<{ token: string; access_token: string; expires_in: number; issued_at: string }>(res);
  assert.equal(body.access_token, body.token);
  assert.equal(body.expires_in, 300);
  assert.ok(Math.abs(Date.parse(body.issued_at) - Date.now()) < 60_000);
  const claims = jwtPayload(body.token);
  assert.equal(claims['sub'], 'nina');
  assert.equal(claims['aud'], 'portcullis');
  assert.equal(claims['iss'], 'portcullis');
  assert.equal((claims['exp'] as number) - (claims['iat'] as number), 300);
  assert.deepEqual(claims['access'], [
    { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
    { type: 'repository', name: 'secret/app', actions: [] },
    { type: 'registry', name: 'catalog', actions: ['*'] },
  ]);
  assert.deepEqual(claims['portcullis.refused'], [
    { type: 'repository', name: 'team/app', actions: ['delete'] },
    { type: 'repository', name: 'secret/app', actions: ['pull'] },
  ]);

  // The token works as a bearer token, within what it grants.
  const bearer = `Bearer ${body.token}`;
  assert.equal((await call(s, bearer, 'GET', '/v2/team/app/tags/list')).status, 200);
  assert.equal((await call(s, bearer, 'DELETE', '/v2/team/app/manifests/latest')).status, 403, 'a refused action is denied, not challenged again');
  assert.equal((await okJson<{ username: string }>(await call(s, bearer, 'GET', '/api/v1/users/current'))).username, 'nina');
  const forged = `Bearer ${body.token.slice(0, -4)}AAAA`;
  await apiError(await call(s, forged, 'GET', '/api/v1/users/current'), 401, 'UNAUTHORIZED');

  // Without scopes: a token with no access, still identifying the account.
  const plain = jwtPayload((await okJson<{ token: string }>(await call(s, nina, 'GET', '/service/token?service=portcullis'))).token);
  assert.deepEqual(plain['access'], []);
  assert.equal(plain['portcullis.refused'], undefined);
  // "*" asks for everything.
  const star = jwtPayload((await okJson<{ token: string }>(await call(s, nina, 'GET', '/service/token?scope=repository:team/app:*'))).token);
  assert.deepEqual(star['access'], [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
  // Administrators get what they ask for.
  const adminToken = jwtPayload((await okJson<{ token: string }>(await admin(s, 'GET', '/service/token?scope=repository:secret/app:pull,push,delete'))).token);
  assert.deepEqual(adminToken['access'], [{ type: 'repository', name: 'secret/app', actions: ['pull', 'push', 'delete'] }]);
});

test('token endpoint: anonymous callers get pull on public projects only', async (t) => {
  const s = await startTestServer(t);
  await createProject(s, 'pub', true);
  await createProject(s, 'team');
  const q = new URLSearchParams({ service: 'portcullis', scope: 'repository:pub/app:pull,push repository:team/app:pull registry:catalog:*' });
  const res = await call(s, undefined, 'GET', `/service/token?${q}`);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const claims = jwtPayload((await okJson<{ token: string }>(res)).token);
  assert.equal(claims['sub'], '');
  assert.deepEqual(claims['access'], [
    { type: 'repository', name: 'pub/app', actions: ['pull'] },
    { type: 'repository', name: 'team/app', actions: [] },
  ]);
  // Nothing is recorded as refused for an anonymous caller: the registry must answer with a
  // challenge (log in), not with 403.
  assert.equal(claims['portcullis.refused'], undefined);
});

test('token endpoint: bad service 400, bad password 401, the password grant by POST, other grants 400', async (t) => {
  const s = await startTestServer(t, { config: { auth: { maxFailedLogins: 100 } } });
  await createProject(s, 'team');
  await createUser(s, 'olga', 'olga-password');
  await addMember(s, 'team', 'olga', 'guest');

  const badService = await apiError(await call(s, basicAuth('olga', 'olga-password'), 'GET', '/service/token?service=elsewhere'), 400, 'BAD_REQUEST');
  assert.match(badService.message, /portcullis/);
  const wrong = await call(s, basicAuth('olga', 'wrong-password'), 'GET', '/service/token?service=portcullis');
  assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /);
  await apiError(wrong, 401, 'UNAUTHORIZED');
  await apiError(await call(s, basicAuth('nobody', 'whatever'), 'GET', '/service/token'), 401, 'UNAUTHORIZED');

  // containerd's flow: POST a form with grant_type=password.
  const form = new URLSearchParams({ grant_type: 'password', username: 'olga', password: 'olga-password', service: 'portcullis', client_id: 'containerd', scope: 'repository:team/app:pull,push' });
  const res = await call(s, undefined, 'POST', '/service/token', form);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const body = await okJson<{ access_token: string; token_type: string; expires_in: number; scope: string }>(res);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 300);
  assert.equal(body.scope, 'repository:team/app:pull,push');
  const claims = jwtPayload(body.access_token);
  assert.equal(claims['sub'], 'olga');
  assert.deepEqual(claims['access'], [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
  assert.deepEqual(claims['portcullis.refused'], [{ type: 'repository', name: 'team/app', actions: ['push'] }]);

  const wrongForm = new URLSearchParams({ grant_type: 'password', username: 'olga', password: 'nope-nope', service: 'portcullis' });
  await apiError(await call(s, undefined, 'POST', '/service/token', wrongForm), 401, 'UNAUTHORIZED');
  for (const grant of ['refresh_token', 'client_credentials', '']) {
    const f = new URLSearchParams({ grant_type: grant, username: 'olga', password: 'olga-password', refresh_token: 'x' });
    await apiError(await call(s, undefined, 'POST', '/service/token', f), 400, 'BAD_REQUEST');
  }
  await apiError(await call(s, undefined, 'POST', '/service/token', new URLSearchParams({ grant_type: 'password', username: 'olga', password: 'olga-password', service: 'elsewhere' })), 400, 'BAD_REQUEST');
  await apiError(await call(s, undefined, 'POST', '/service/token', { grant_type: 'password', username: 'olga', password: 'olga-password' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
});

test('token endpoint: repeated wrong passwords lock the account for a while (429 with Retry-After)', async (t) => {
  const s = await startTestServer(t, { config: { auth: { maxFailedLogins: 3, failedLoginWindow: '5m' } } });
  await createUser(s, 'pat', 'pat-password');
  for (let i = 0; i < 3; i++) await apiError(await call(s, basicAuth('pat', 'wrong-password'), 'GET', '/service/token'), 401);
  const locked = await call(s, basicAuth('pat', 'pat-password'), 'GET', '/service/token');
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
  await apiError(locked, 429, 'TOO_MANY_REQUESTS');
});

// ------------------------------------------------------------------------- errors and health

test('errors: one JSON shape; unknown routes 404; oversized bodies 413; malformed JSON 400; wrong media type 415', async (t) => {
  const s = await startTestServer(t);
  const unknown = await apiError(await admin(s, 'GET', '/api/v1/nope'), 404, 'NOT_FOUND');
  assert.match(unknown.message, /GET \/api\/v1\/nope/);
  await apiError(await call(s, undefined, 'GET', '/definitely/not/here'), 404, 'NOT_FOUND');
  await apiError(await admin(s, 'DELETE', '/api/v1/users'), 404, 'NOT_FOUND');

  const big = JSON.stringify({ name: 'big', pad: 'x'.repeat(1024 * 1024 + 10) });
  const tooLarge = await fetch(`${s.url}/api/v1/projects`, { method: 'POST', headers: { Authorization: s.adminAuth, 'Content-Type': 'application/json' }, body: big });
  await apiError(tooLarge, 413, 'PAYLOAD_TOO_LARGE');
  await apiError(await admin(s, 'GET', '/api/v1/projects/big'), 404, 'NOT_FOUND');

  const syntax = await fetch(`${s.url}/api/v1/projects`, { method: 'POST', headers: { Authorization: s.adminAuth, 'Content-Type': 'application/json' }, body: '{"name": "x",' });
  await apiError(syntax, 400, 'BAD_REQUEST');
  const text = await fetch(`${s.url}/api/v1/projects`, { method: 'POST', headers: { Authorization: s.adminAuth, 'Content-Type': 'application/xml' }, body: '<name>x</name>' });
  await apiError(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
  const extra = await apiError(await admin(s, 'POST', '/api/v1/projects', { name: 'ok', colour: 'blue' }), 400, 'BAD_REQUEST');
  assert.match(extra.message, /colour/);
  const missing = await apiError(await admin(s, 'POST', '/api/v1/projects', {}), 400, 'BAD_REQUEST');
  assert.match(missing.message, /^name: /);

  // Unusable credentials are refused with a challenge, whatever the route.
  const weird = await fetch(`${s.url}/api/v1/projects`, { headers: { Authorization: 'Digest username="x"' } });
  assert.match(weird.headers.get('www-authenticate') ?? '', /^Basic /);
  await apiError(weird, 401, 'UNAUTHORIZED');
  await apiError(await call(s, 'Basic !!!notbase64', 'GET', '/api/v1/projects'), 401, 'UNAUTHORIZED');
  await apiError(await call(s, basicAuth('admin', 'wrong'), 'GET', '/api/v1/projects'), 401, 'UNAUTHORIZED');
});

test('health checks answer without credentials, even wrong ones', async (t) => {
  const s = await startTestServer(t);
  for (const path of ['/healthz', '/readyz']) {
    assert.deepEqual(await okJson(await call(s, undefined, 'GET', path)), { status: 'ok' });
    assert.deepEqual(await okJson(await call(s, basicAuth('admin', 'wrong-password'), 'GET', path)), { status: 'ok' });
    assert.equal((await fetch(`${s.url}${path}`, { method: 'HEAD' })).status, 200);
  }
  const info = await okJson<{ version: string; tokenService: string }>(await admin(s, 'GET', '/api/v1/system/info'));
  assert.equal(info.tokenService, 'portcullis');
  assert.match(info.version, /^\d+\.\d+\.\d+/);
});
