/**
 * Tag listing and the catalog over HTTP (SQLite): lexical order, n/last pagination with Link
 * headers, visibility of repositories in _catalog.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { OCI_MANIFEST, bearer, errorsOf, makeImage, pushImage, pushManifest, request, sharedServer, type Target } from '../../helpers/push.js';
import { addMember, basicAuth, createProject, createUser, type TestServer } from '../../helpers/server.js';

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The target of a `Link: <...>; rel="next"` header, or undefined. */
function nextOf(res: Response): string | undefined {
  const link = res.headers.get('link');
  if (link === null) return undefined;
  const m = /^<([^>]+)>;\s*rel="next"$/.exec(link);
  assert.ok(m !== null, `malformed Link header: ${link}`);
  return m[1];
}

describe('distribution API tags list and catalog', () => {
  const server = sharedServer();
  let s: TestServer;
  let admin: Target;
  const tags = ['e', 'a', 'c', 'b', 'd', 'v1.0', 'V2', 'latest', '0'];

  before(async () => {
    s = server();
    admin = { url: s.url, auth: s.adminAuth };
    await createProject(s, 'pub', true);
    await createProject(s, 'mine');
    await createProject(s, 'theirs');
    await createUser(s, 'carol', 'carol-password-1');
    await addMember(s, 'mine', 'carol', 'guest');
    const image = makeImage();
    await pushImage(admin, 'pub/tags', tags[0]!, image);
    for (const t of tags.slice(1)) await pushManifest(admin, 'pub/tags', t, image.manifest, OCI_MANIFEST);
    for (const name of ['pub/z', 'pub/a', 'mine/x', 'mine/a/b', 'theirs/y', 'theirs/a']) await pushImage(admin, name, 'v1', makeImage({ layers: 0 }));
  });

  test('tags are listed in lexical order', async () => {
    const res = await request(admin, 'GET', '/v2/pub/tags/tags/list');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('link'), null);
    assert.deepEqual(await res.json(), { name: 'pub/tags', tags: [...tags].sort(byteOrder) });
  });

  test('n/last paginate tags with a Link to the next page, to the end', async () => {
    const sorted = [...tags].sort(byteOrder);
    const first = await request(admin, 'GET', '/v2/pub/tags/tags/list?n=2');
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('link'), `</v2/pub/tags/tags/list?n=2&last=${sorted[1]}>; rel="next"`);
    const seen: string[] = [];
    let pages = 0;
    let res = first;
    for (;;) {
      const body = (await res.json()) as { name: string; tags: string[] };
      assert.equal(body.name, 'pub/tags');
      assert.ok(body.tags.length <= 2);
      seen.push(...body.tags);
      pages++;
      const next = nextOf(res);
      if (next === undefined) break;
      assert.ok(pages < 20, 'pagination ends');
      res = await request(admin, 'GET', next);
      assert.equal(res.status, 200);
    }
    assert.deepEqual(seen, sorted);
    assert.equal(pages, Math.ceil(sorted.length / 2));

    const afterLast = (await (await request(admin, 'GET', `/v2/pub/tags/tags/list?last=${sorted.at(-1)}`)).json()) as { tags: string[] };
    assert.deepEqual(afterLast.tags, []);
    const fromC = (await (await request(admin, 'GET', '/v2/pub/tags/tags/list?n=3&last=c')).json()) as { tags: string[] };
    assert.deepEqual(fromC.tags, sorted.filter((t) => byteOrder(t, 'c') > 0).slice(0, 3));
  });

  test('n=0 answers an empty list', async () => {
    const res = await request(admin, 'GET', '/v2/pub/tags/tags/list?n=0');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { name: string; tags: string[] };
    assert.deepEqual(body.tags, []);
  });

  test('tags of an unknown repository are 404 NAME_UNKNOWN', async () => {
    const res = await request(admin, 'GET', '/v2/pub/never-pushed/tags/list');
    assert.equal(res.status, 404);
    assert.deepEqual((await errorsOf(res)).map((e) => e.code), ['NAME_UNKNOWN']);
  });

  test('_catalog requires authentication, with a registry:catalog:* challenge', async () => {
    const res = await request(admin, 'GET', '/v2/_catalog', { auth: null });
    assert.equal(res.status, 401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer /);
    assert.ok(challenge.includes(`realm="http://${s.host}/service/token"`), challenge);
    assert.ok(challenge.includes('service="portcullis"'), challenge);
    assert.ok(challenge.includes('scope="registry:catalog:*"'), challenge);
    assert.deepEqual((await errorsOf(res)).map((e) => e.code), ['UNAUTHORIZED']);
  });

  test('_catalog lists the repositories the caller may see, in lexical order', async () => {
    const all = (await (await request(admin, 'GET', '/v2/_catalog')).json()) as { repositories: string[] };
    assert.deepEqual(all.repositories, ['mine/a/b', 'mine/x', 'pub/a', 'pub/tags', 'pub/z', 'theirs/a', 'theirs/y']);

    const carol: Target = { url: s.url, auth: basicAuth('carol', 'carol-password-1') };
    const visible = (await (await request(carol, 'GET', '/v2/_catalog')).json()) as { repositories: string[] };
    assert.deepEqual(visible.repositories, ['mine/a/b', 'mine/x', 'pub/a', 'pub/tags', 'pub/z']);

    // The same through a bearer token with the catalog scope.
    const token = await bearer(s.url, ['registry:catalog:*'], basicAuth('carol', 'carol-password-1'));
    const viaToken = await request({ url: s.url, auth: token }, 'GET', '/v2/_catalog');
    assert.equal(viaToken.status, 200);
    assert.deepEqual(((await viaToken.json()) as { repositories: string[] }).repositories, visible.repositories);
  });

  test('_catalog paginates with Link headers', async () => {
    const seen: string[] = [];
    let res = await request(admin, 'GET', '/v2/_catalog?n=2');
    assert.equal(res.headers.get('link'), `</v2/_catalog?n=2&last=${encodeURIComponent('mine/x')}>; rel="next"`);
    for (let pages = 0; ; pages++) {
      assert.equal(res.status, 200);
      const body = (await res.json()) as { repositories: string[] };
      assert.ok(body.repositories.length <= 2);
      seen.push(...body.repositories);
      const next = nextOf(res);
      if (next === undefined) break;
      assert.ok(pages < 20);
      res = await request(admin, 'GET', next);
    }
    assert.deepEqual(seen, ['mine/a/b', 'mine/x', 'pub/a', 'pub/tags', 'pub/z', 'theirs/a', 'theirs/y']);
    const empty = await request(admin, 'GET', '/v2/_catalog?n=0');
    assert.deepEqual(((await empty.json()) as { repositories: string[] }).repositories, []);
  });
});
