// The login limits over HTTP, as a red-team run attacked them: parallel guesses, locking out a
// robot or a user from elsewhere, password spraying, and guessing oldPassword with a stolen token.
// Client addresses come from X-Forwarded-For (auth.trustProxy), as behind a reverse proxy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { basicAuth, createProject, createRobot, createUser, startTestServer, type TestServer } from '../../helpers/server.js';
import { apiError, call, okJson } from './fixtures.js';

const A = '203.0.113.1';
const B = '198.51.100.7';
const from = (address: string) => ({ 'X-Forwarded-For': address });

function server(t: Parameters<typeof startTestServer>[0], maxFailedLogins = 10): Promise<TestServer> {
  return startTestServer(t, { config: { auth: { maxFailedLogins, failedLoginWindow: '5m', trustProxy: true } } });
}

/** Status of GET /api/v1/users/current with Basic credentials from `address`. */
async function signIn(s: TestServer, username: string, password: string, address: string): Promise<number> {
  const res = await call(s, basicAuth(username, password), 'GET', '/api/v1/users/current', undefined, from(address));
  await res.arrayBuffer();
  return res.status;
}

test('parallel wrong passwords for one account: no more than maxFailedLogins get past the limit', async (t) => {
  const s = await server(t, 10);
  await createUser(s, 'alice', 'alice-password');
  const statuses = await Promise.all(Array.from({ length: 60 }, (_, i) => signIn(s, 'alice', `guess-${i}`, A)));
  const checked = statuses.filter((x) => x !== 429);
  assert.ok(checked.length <= 10, `${checked.length} guesses were checked: ${statuses.join(' ')}`);
  assert.ok(checked.every((x) => x === 401), statuses.join(' '));
  // The distribution API shares the limit.
  const v2 = await call(s, basicAuth('alice', 'alice-password'), 'GET', '/v2/', undefined, from(A));
  await v2.arrayBuffer();
  assert.equal(v2.status, 429);
  assert.ok(Number(v2.headers.get('retry-after')) > 0);
});

test('parallel right passwords are not turned away, and leave nothing counted', async (t) => {
  const s = await server(t, 3);
  await createUser(s, 'alice', 'alice-password');
  const statuses = await Promise.all(Array.from({ length: 20 }, () => signIn(s, 'alice', 'alice-password', A)));
  assert.deepEqual(new Set(statuses), new Set([200]));
  for (let i = 0; i < 3; i++) assert.equal(await signIn(s, 'alice', 'wrong-password', A), 401, `failure ${i + 1}`);
  assert.equal(await signIn(s, 'alice', 'wrong-password', A), 429);
});

test('wrong passwords from one address lock that address out of the account, not the user elsewhere', async (t) => {
  const s = await server(t, 10);
  await createUser(s, 'admin2', 'admin2-password', true);
  for (let i = 0; i < 10; i++) assert.equal(await signIn(s, 'admin2', `guess-${i}`, A), 401);
  const locked = await call(s, basicAuth('admin2', 'admin2-password'), 'GET', '/api/v1/users/current', undefined, from(A));
  await apiError(locked, 429, 'TOO_MANY_REQUESTS');
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
  // The real user, from their own address.
  assert.equal(await signIn(s, 'admin2', 'admin2-password', B), 200);
  const token = await call(s, basicAuth('admin2', 'admin2-password'), 'GET', '/service/token?service=portcullis', undefined, from(B));
  assert.equal(token.status, 200, await token.text());
  // The built-in admin from A too: A is under its per-address limit.
  assert.equal((await call(s, s.adminAuth, 'GET', '/api/v1/users', undefined, from(A))).status, 200);
});

test('wrong secrets for a robot lock nobody out of it; the guesser is limited per address', async (t) => {
  const s = await server(t, 2);
  await createProject(s, 'team');
  const robot = await createRobot(s, 'ci', [{ project: 'team', actions: ['pull'] }]);
  const v2 = async (secret: string, address: string) => {
    const res = await call(s, basicAuth(robot.name, secret), 'GET', '/v2/', undefined, from(address));
    await res.arrayBuffer();
    return res.status;
  };
  // Nearly ten times the per-account limit of users, still under the address limit of 20.
  for (let i = 0; i < 19; i++) assert.equal(await v2(`guess-${i}`, A), 401, `guess ${i + 1}`);
  assert.equal(await v2(robot.secret, A), 200, 'the real secret from the guessing address, under its limit');
  assert.equal(await v2(robot.secret, B), 200);
  assert.equal(await v2('guess-last', A), 401);
  // A is over its address budget now; the robot itself is not locked.
  assert.equal(await v2('guess-more', A), 429);
  assert.equal(await v2(robot.secret, B), 200);
  const token = await call(s, basicAuth(robot.name, robot.secret), 'GET', '/service/token?service=portcullis', undefined, from(B));
  assert.equal(token.status, 200, await token.text());
});

test('password spraying over many accounts from one address hits the address limit', async (t) => {
  const s = await server(t, 2);
  for (let i = 0; i < 20; i++) await createUser(s, `user${i}`, `user${i}-password`);
  // One guess per account: no account reaches its own limit of two.
  for (let i = 0; i < 20; i++) assert.equal(await signIn(s, `user${i}`, 'Summer2024!', A), 401, `user${i}`);
  assert.equal(await signIn(s, 'user0', 'user0-password', A), 429);
  assert.equal(await signIn(s, 'user19', 'user19-password', A), 429);
  assert.equal(await signIn(s, 'user0', 'user0-password', B), 200);
});

test('guessing oldPassword with a bearer token is limited like a login, for that account and address', async (t) => {
  const s = await server(t, 10);
  await createUser(s, 'carol', 'carol-password');
  const token = (await okJson<{ token: string }>(await call(s, basicAuth('carol', 'carol-password'), 'GET', '/service/token?service=portcullis', undefined, from(B)))).token;
  const bearer = `Bearer ${token}`;
  const change = (oldPassword: string, address: string) => call(s, bearer, 'PUT', '/api/v1/users/carol/password', { oldPassword, newPassword: 'carol-new-password' }, from(address));

  const statuses: number[] = [];
  for (let i = 0; i < 25; i++) {
    const res = await change(`guess-${i}`, A);
    statuses.push(res.status);
    if (res.status === 429) assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
    await res.arrayBuffer();
  }
  assert.deepEqual(statuses, [...Array<number>(10).fill(403), ...Array<number>(15).fill(429)]);
  const locked = await apiError(await change('carol-password', A), 429, 'TOO_MANY_REQUESTS');
  assert.match(locked.message, /try again in \d+ s/);
  // The same counter as logins: Basic from A is locked too.
  assert.equal(await signIn(s, 'carol', 'carol-password', A), 429);
  // Parallel guesses from another address do not outrun the limit either.
  const parallel = await Promise.all(Array.from({ length: 25 }, (_, i) => change(`guess-${i}`, '192.0.2.9').then(async (r) => (await r.arrayBuffer(), r.status))));
  assert.ok(parallel.filter((x) => x !== 429).length <= 10, parallel.join(' '));
  // The real user, from their own address, is not locked out.
  assert.equal((await change('carol-password', B)).status, 204);
  assert.equal(await signIn(s, 'carol', 'carol-new-password', B), 200);
});
