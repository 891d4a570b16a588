/**
 * Authentication and authorization of the Distribution API over HTTP (SQLite): challenges,
 * Basic credentials, the bearer token flow, project roles, robots, login limiting.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { bearer, bytesOf, errorsOf, makeImage, pushBlob, pushImage, randomBlob, request, sharedServer, startUpload, tokenRequest, type Target } from '../../helpers/push.js';
import { addMember, basicAuth, createProject, createRobot, createUser, startTestServer, type TestServer } from '../../helpers/server.js';

async function codesOf(res: Response): Promise<string[]> {
  return (await errorsOf(res)).map((e) => e.code);
}

/** The parameters of a `Bearer k="v",...` challenge. */
function challengeParams(res: Response): Record<string, string> {
  const h = res.headers.get('www-authenticate');
  assert.ok(h !== null, `${res.status} without WWW-Authenticate`);
  assert.match(h, /^Bearer /);
  return Object.fromEntries([...h.slice(7).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

describe('distribution API authentication and authorization', () => {
  const server = sharedServer();
  let s: TestServer;
  let admin: Target;
  let image: ReturnType<typeof makeImage>;
  const pw = 'member-password-1';
  const as = (user: string): Target => ({ url: s.url, auth: basicAuth(user, pw) });
  const anonymous = (): Target => ({ url: s.url });

  before(async () => {
    s = server();
    admin = { url: s.url, auth: s.adminAuth };
    await createProject(s, 'priv');
    await createProject(s, 'pub', true);
    for (const [user, role] of [
      ['dev', 'developer'],
      ['guest', 'guest'],
      ['maint', 'maintainer'],
    ] as const) {
      await createUser(s, user, pw);
      await addMember(s, 'priv', user, role);
    }
    image = makeImage();
    await pushImage(admin, 'priv/app', 'v1', image);
    await pushImage(admin, 'pub/app', 'v1', image);
  });

  test('/v2/ without credentials is 401 with the token challenge; with credentials 200', async () => {
    const res = await request(anonymous(), 'GET', '/v2/');
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="http://${s.host}/service/token",service="portcullis"`);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(await codesOf(res), ['UNAUTHORIZED']);
    const ok = await request(admin, 'GET', '/v2/');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  test('pulling from a private project without credentials is 401 with the pull scope', async () => {
    for (const path of ['/v2/priv/app/manifests/v1', `/v2/priv/app/blobs/${image.config.digest}`, '/v2/priv/app/tags/list']) {
      const res = await request(anonymous(), 'GET', path);
      assert.equal(res.status, 401, path);
      assert.deepEqual(challengeParams(res), { realm: `http://${s.host}/service/token`, service: 'portcullis', scope: 'repository:priv/app:pull' }, path);
      assert.deepEqual(await codesOf(res), ['UNAUTHORIZED']);
    }
    const push = await request(anonymous(), 'POST', '/v2/priv/app/blobs/uploads/');
    assert.equal(push.status, 401);
    assert.equal(challengeParams(push)['scope'], 'repository:priv/app:pull,push');
  });

  test('anonymous pulls from a public project work, directly and with an anonymous token; pushes do not', async () => {
    const direct = await request(anonymous(), 'GET', '/v2/pub/app/manifests/v1');
    assert.equal(direct.status, 200);
    assert.ok((await bytesOf(direct)).equals(image.manifest));
    const blob = await request(anonymous(), 'GET', `/v2/pub/app/blobs/${image.layers[0]!.digest}`);
    assert.ok((await bytesOf(blob)).equals(image.layers[0]!.data));

    const token = await bearer(s.url, ['repository:pub/app:pull,push']);
    const viaToken = await request({ url: s.url, auth: token }, 'GET', '/v2/pub/app/manifests/v1');
    assert.equal(viaToken.status, 200);
    const push = await request({ url: s.url, auth: token }, 'POST', '/v2/pub/app/blobs/uploads/');
    assert.ok(push.status === 401 || push.status === 403, `anonymous push refused, got ${push.status}`);
    assert.ok((await codesOf(push)).some((c) => c === 'UNAUTHORIZED' || c === 'DENIED'));
    const plain = await request(anonymous(), 'POST', '/v2/pub/app/blobs/uploads/');
    assert.equal(plain.status, 401);
  });

  test('Basic with a wrong password is 401', async () => {
    for (const auth of [basicAuth('dev', 'wrong-password'), basicAuth('nobody', 'x'), 'Basic !!!not-base64', 'Basic ' + Buffer.from('no-colon').toString('base64')]) {
      const res = await request({ url: s.url, auth }, 'GET', '/v2/priv/app/manifests/v1');
      assert.equal(res.status, 401, auth);
      assert.deepEqual(await codesOf(res), ['UNAUTHORIZED']);
      assert.ok(res.headers.get('www-authenticate') !== null);
    }
  });

  test('a developer pushes with a bearer token for pull,push', async () => {
    const token = await bearer(s.url, ['repository:priv/tokened:pull,push'], basicAuth('dev', pw));
    const target: Target = { url: s.url, auth: token };
    const pushed = makeImage();
    await pushImage(target, 'priv/tokened', 'v1', pushed, 'chunked');
    const res = await request(target, 'GET', '/v2/priv/tokened/manifests/v1');
    assert.equal(res.status, 200);
    assert.ok((await bytesOf(res)).equals(pushed.manifest));
  });

  test("a guest's token asked for pull,push: pulls work, pushes are 403 DENIED", async () => {
    const token = await bearer(s.url, ['repository:priv/app:pull,push'], basicAuth('guest', pw));
    const target: Target = { url: s.url, auth: token };
    assert.equal((await request(target, 'HEAD', '/v2/priv/app/manifests/v1')).status, 200);
    const res = await request(target, 'POST', '/v2/priv/app/blobs/uploads/');
    assert.equal(res.status, 403);
    assert.deepEqual(await codesOf(res), ['DENIED']);
    const put = await request(target, 'PUT', '/v2/priv/app/manifests/v2', { headers: { 'Content-Type': image.mediaType }, body: image.manifest });
    assert.equal(put.status, 403);
    assert.deepEqual(await codesOf(put), ['DENIED']);
  });

  test('a token without the scope (issued for another repository) is 401 insufficient_scope', async () => {
    const token = await bearer(s.url, ['repository:priv/other:pull,push'], basicAuth('dev', pw));
    const res = await request({ url: s.url, auth: token }, 'GET', '/v2/priv/app/manifests/v1');
    assert.equal(res.status, 401);
    const params = challengeParams(res);
    assert.equal(params['error'], 'insufficient_scope');
    assert.equal(params['scope'], 'repository:priv/app:pull');
    assert.equal(params['service'], 'portcullis');
    assert.deepEqual(await codesOf(res), ['UNAUTHORIZED']);
  });

  test('a garbage or forged token is 401 invalid_token', async () => {
    const real = (await bearer(s.url, ['repository:priv/app:pull'], basicAuth('dev', pw))).slice(7);
    const [h, p] = real.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    claims['access'] = [{ type: 'repository', name: 'priv/app', actions: ['pull', 'push', 'delete'] }];
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${real.split('.')[2]}`;
    for (const token of ['garbage', 'a.b.c', forged]) {
      const res = await request({ url: s.url, auth: `Bearer ${token}` }, 'GET', '/v2/priv/app/manifests/v1');
      assert.equal(res.status, 401, token);
      assert.equal(challengeParams(res)['error'], 'invalid_token');
      assert.deepEqual(await codesOf(res), ['UNAUTHORIZED']);
    }
  });

  test('a robot with pull only on the project pulls but gets 403 on push', async () => {
    const robot = await createRobot(s, 'puller', [{ project: 'priv', actions: ['pull'] }]);
    const basic = basicAuth(robot.name, robot.secret);
    const target: Target = { url: s.url, auth: basic };
    const res = await request(target, 'GET', '/v2/priv/app/manifests/v1');
    assert.equal(res.status, 200);
    assert.ok((await bytesOf(res)).equals(image.manifest));
    const push = await request(target, 'POST', '/v2/priv/app/blobs/uploads/');
    assert.equal(push.status, 403);
    assert.deepEqual(await codesOf(push), ['DENIED']);

    const token = await bearer(s.url, ['repository:priv/app:pull,push'], basic);
    const withToken: Target = { url: s.url, auth: token };
    assert.equal((await request(withToken, 'HEAD', '/v2/priv/app/manifests/v1')).status, 200);
    const push2 = await request(withToken, 'POST', '/v2/priv/app/blobs/uploads/');
    assert.equal(push2.status, 403);
    assert.deepEqual(await codesOf(push2), ['DENIED']);
    // Nothing outside its project.
    assert.equal((await request(target, 'GET', '/v2/pub/app/manifests/v1')).status, 200, 'public pull still allowed');
    await createProject(s, 'elsewhere');
    assert.equal((await request(target, 'GET', '/v2/elsewhere/app/manifests/v1')).status, 403);
  });

  test('DELETE needs the delete action: developer 403, maintainer 202', async () => {
    const victim = makeImage();
    await pushImage(admin, 'priv/deletable', 'v1', victim);
    const dev = await request(as('dev'), 'DELETE', `/v2/priv/deletable/manifests/${victim.digest}`);
    assert.equal(dev.status, 403);
    assert.deepEqual(await codesOf(dev), ['DENIED']);
    const devTag = await request(as('dev'), 'DELETE', '/v2/priv/deletable/manifests/v1');
    assert.equal(devTag.status, 403);
    assert.equal((await request(admin, 'HEAD', '/v2/priv/deletable/manifests/v1')).status, 200);

    const devToken = await bearer(s.url, ['repository:priv/deletable:delete'], basicAuth('dev', pw));
    const viaToken = await request({ url: s.url, auth: devToken }, 'DELETE', `/v2/priv/deletable/manifests/${victim.digest}`);
    assert.equal(viaToken.status, 403);

    const maint = await request(as('maint'), 'DELETE', `/v2/priv/deletable/manifests/${victim.digest}`);
    assert.equal(maint.status, 202);
    assert.equal((await request(admin, 'HEAD', `/v2/priv/deletable/manifests/${victim.digest}`)).status, 404);
  });

  test('with a bearer token, mounts need pull on the source: public source 201, unreadable source 202', async () => {
    await createProject(s, 'devonly');
    await createProject(s, 'hidden');
    await addMember(s, 'devonly', 'dev', 'developer');
    const data = randomBlob(300);
    const secret = await pushBlob(admin, 'hidden/app', data);
    const token = await bearer(s.url, ['repository:devonly/app:pull,push', 'repository:pub/app:pull', 'repository:hidden/app:pull'], basicAuth('dev', pw));
    const target: Target = { url: s.url, auth: token };
    const pub = await request(target, 'POST', `/v2/devonly/app/blobs/uploads/?mount=${image.layers[0]!.digest}&from=pub/app`);
    assert.equal(pub.status, 201, 'a public source may be mounted');
    const hidden = await request(target, 'POST', `/v2/devonly/app/blobs/uploads/?mount=${secret}&from=hidden/app`);
    assert.equal(hidden.status, 202);
    assert.equal((await request(admin, 'HEAD', `/v2/devonly/app/blobs/${secret}`)).status, 404);
    assert.ok((await startUpload(target, 'devonly/app')).includes('/v2/devonly/app/blobs/uploads/'));
  });
});

describe('distribution API token expiry and login limiting', () => {
  test('an expired token is 401 invalid_token', async (t) => {
    let skew = 0;
    const s = await startTestServer(t, { now: () => Date.now() + skew, config: { auth: { tokenTtl: '5m' } } });
    await createProject(s, 'exp');
    await pushImage({ url: s.url, auth: s.adminAuth }, 'exp/app', 'v1', makeImage());
    const token = await bearer(s.url, ['repository:exp/app:pull'], s.adminAuth);
    assert.equal((await request({ url: s.url, auth: token }, 'HEAD', '/v2/exp/app/manifests/v1')).status, 200);
    skew = 60 * 60 * 1000;
    const res = await request({ url: s.url, auth: token }, 'HEAD', '/v2/exp/app/manifests/v1');
    assert.equal(res.status, 401);
    assert.equal(challengeParams(res)['error'], 'invalid_token');
    const get = await request({ url: s.url, auth: token }, 'GET', '/v2/exp/app/manifests/v1');
    assert.deepEqual(await codesOf(get), ['UNAUTHORIZED']);
  });

  test('too many failed logins are 429 TOOMANYREQUESTS with Retry-After', async (t) => {
    const s = await startTestServer(t, { config: { auth: { maxFailedLogins: 3, failedLoginWindow: '10m' } } });
    await createUser(s, 'victim', 'victim-password-1');
    const wrong: Target = { url: s.url, auth: basicAuth('victim', 'nope') };
    for (let i = 0; i < 3; i++) assert.equal((await request(wrong, 'GET', '/v2/')).status, 401, `attempt ${i + 1}`);
    const locked = await request(wrong, 'GET', '/v2/');
    assert.equal(locked.status, 429);
    assert.deepEqual(await codesOf(locked), ['TOOMANYREQUESTS']);
    const retry = Number(locked.headers.get('retry-after'));
    assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 600, `Retry-After: ${locked.headers.get('retry-after')}`);
    // The right password does not get through a lock either.
    const right = await request({ url: s.url, auth: basicAuth('victim', 'victim-password-1') }, 'GET', '/v2/');
    assert.equal(right.status, 429);
    const token = await tokenRequest(s.url, ['repository:x/y:pull'], basicAuth('victim', 'victim-password-1'));
    assert.equal(token.status, 429);
    assert.ok(token.headers.get('retry-after') !== null);
  });
});
