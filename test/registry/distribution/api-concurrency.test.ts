/**
 * Concurrent pushes and protocol-wide headers of the Distribution API over HTTP (SQLite).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { blobPath, bytesOf, digestOf, errorsOf, makeImage, makeIndex, pushBlob, pushImage, pushManifest, randomBlob, request, sharedServer, withQuery, type Target } from '../../helpers/push.js';
import { addMember, basicAuth, createProject, createUser, type TestServer } from '../../helpers/server.js';

describe('distribution API concurrency and protocol headers', () => {
  const server = sharedServer();
  let s: TestServer;
  let admin: Target;

  before(async () => {
    s = server();
    admin = { url: s.url, auth: s.adminAuth };
    await createProject(s, 'conc');
    await createUser(s, 'second', 'second-password-1');
    await addMember(s, 'conc', 'second', 'developer');
  });

  test('two clients pushing the same 8 MiB blob at once both succeed and the blob is intact', async () => {
    const data = randomBlob(8 * 1024 * 1024);
    const digest = digestOf(data);
    const clients: Target[] = [admin, { url: s.url, auth: basicAuth('second', 'second-password-1') }];
    const responses = await Promise.all(
      clients.map((c) => request(c, 'POST', `/v2/conc/same/blobs/uploads/?digest=${digest}`, { headers: { 'Content-Type': 'application/octet-stream' }, body: data })),
    );
    for (const res of responses) {
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('docker-content-digest'), digest);
    }
    const head = await request(admin, 'HEAD', `/v2/conc/same/blobs/${digest}`);
    assert.equal(head.headers.get('content-length'), String(data.byteLength));
    const body = await bytesOf(await request(admin, 'GET', `/v2/conc/same/blobs/${digest}`));
    assert.equal(digestOf(body), digest);
    assert.equal(digestOf(readFileSync(blobPath(s.dataDir, digest))), digest, 'the stored file is whole');

    // The same race through upload sessions, into two repositories.
    const sessions = await Promise.all(['conc/one', 'conc/two'].map((n) => request(admin, 'POST', `/v2/${n}/blobs/uploads/`)));
    const puts = await Promise.all(
      sessions.map((r) => request(admin, 'PUT', withQuery(r.headers.get('location')!, { digest }), { headers: { 'Content-Type': 'application/octet-stream' }, body: data })),
    );
    assert.deepEqual(
      puts.map((r) => r.status),
      [201, 201],
    );
    for (const n of ['conc/one', 'conc/two']) assert.equal(digestOf(await bytesOf(await request(admin, 'GET', `/v2/${n}/blobs/${digest}`))), digest);
  });

  test('20 concurrent chunked uploads of different blobs into one repository', async () => {
    const blobs = Array.from({ length: 20 }, (_, i) => randomBlob(40_000 + i * 1000));
    const digests = await Promise.all(blobs.map((b) => pushBlob(admin, 'conc/many', b, { mode: 'chunked', chunkSize: 8192 })));
    assert.deepEqual(
      digests,
      blobs.map((b) => digestOf(b)),
    );
    await Promise.all(
      blobs.map(async (b, i) => {
        const res = await request(admin, 'GET', `/v2/conc/many/blobs/${digests[i]}`);
        assert.equal(res.status, 200);
        assert.ok((await bytesOf(res)).equals(b), `blob ${i} intact`);
        assert.ok(existsSync(blobPath(s.dataDir, digests[i]!)));
      }),
    );
  });

  test('concurrent manifest pushes to one tag leave it on one of them, whole', async () => {
    const images = Array.from({ length: 6 }, () => makeImage());
    for (const img of images) for (const b of [img.config, ...img.layers]) await pushBlob(admin, 'conc/tag', b.data);
    const digests = await Promise.all(images.map((img) => pushManifest(admin, 'conc/tag', 'race', img.manifest, img.mediaType)));
    assert.deepEqual(
      digests,
      images.map((i) => i.digest),
    );
    const res = await request(admin, 'GET', '/v2/conc/tag/manifests/race');
    const body = await bytesOf(res);
    const winner = images.find((i) => i.digest === res.headers.get('docker-content-digest'));
    assert.ok(winner !== undefined);
    assert.ok(body.equals(winner.manifest));
  });

  test('every response of a full push and pull carries Docker-Distribution-API-Version', async () => {
    const seen: { method: string; url: string; status: number; version: string | null }[] = [];
    const original = globalThis.fetch;
    globalThis.fetch = async (input, init) => {
      const res = await original(input, init);
      const url = input instanceof Request ? input.url : String(input);
      if (new URL(url).pathname.startsWith('/v2')) seen.push({ method: init?.method ?? 'GET', url, status: res.status, version: res.headers.get('docker-distribution-api-version') });
      return res;
    };
    try {
      const image = makeImage({ layers: 2 });
      await pushImage(admin, 'conc/headers', 'v1', image, 'chunked');
      const index = makeIndex([image]);
      await pushManifest(admin, 'conc/headers', 'index', index.manifest, index.mediaType);
      const anon: Target = { url: s.url };
      const requests: [Target, string, string, Record<string, string>?][] = [
        [admin, 'GET', '/v2/'],
        [anon, 'GET', '/v2/'],
        [admin, 'GET', '/v2/conc/headers/manifests/v1'],
        [admin, 'HEAD', '/v2/conc/headers/manifests/v1'],
        [admin, 'GET', '/v2/conc/headers/manifests/v1', { 'If-None-Match': `"${image.digest}"` }],
        [admin, 'GET', `/v2/conc/headers/blobs/${image.layers[0]!.digest}`],
        [admin, 'HEAD', `/v2/conc/headers/blobs/${image.layers[0]!.digest}`],
        [admin, 'GET', `/v2/conc/headers/blobs/${image.layers[0]!.digest}`, { Range: 'bytes=0-9' }],
        [admin, 'GET', `/v2/conc/headers/blobs/${image.layers[0]!.digest}`, { Range: 'bytes=99999-' }],
        [admin, 'GET', `/v2/conc/headers/blobs/${digestOf('none')}`],
        [admin, 'GET', '/v2/conc/headers/tags/list'],
        [admin, 'GET', `/v2/conc/headers/referrers/${image.digest}`],
        [admin, 'GET', '/v2/_catalog'],
        [admin, 'GET', '/v2/conc/headers/manifests/nope'],
        [admin, 'DELETE', '/v2/conc/headers/manifests/index'],
        [admin, 'POST', '/v2/conc/headers/manifests/v1'],
        [admin, 'GET', '/v2/Bad/name/tags/list'],
        [anon, 'GET', '/v2/conc/headers/manifests/v1'],
        [{ url: s.url, auth: 'Bearer junk' }, 'GET', '/v2/'],
      ];
      for (const [target, method, path, headers] of requests) await (await request(target, method, path, { headers })).arrayBuffer();
      const upload = await request(admin, 'POST', '/v2/conc/headers/blobs/uploads/');
      const location = upload.headers.get('location')!;
      await (await request(admin, 'GET', location)).arrayBuffer();
      await (await request(admin, 'PATCH', location, { headers: { 'Content-Range': '5-9' }, body: randomBlob(5) })).arrayBuffer();
      await (await request(admin, 'DELETE', location)).arrayBuffer();
    } finally {
      globalThis.fetch = original;
    }
    assert.ok(seen.length > 30, `recorded ${seen.length} responses`);
    assert.deepEqual(
      seen.filter((r) => r.version !== 'registry/2.0'),
      [],
    );
    assert.ok(new Set(seen.map((r) => r.status)).size >= 8, 'a variety of statuses was covered');
  });

  test('an unsupported method is 405 UNSUPPORTED with Allow', async () => {
    const cases: [string, string, string][] = [
      ['POST', '/v2/conc/x/manifests/latest', 'GET, HEAD, PUT, DELETE'],
      ['PATCH', `/v2/conc/x/blobs/${digestOf('a')}`, 'GET, HEAD, DELETE'],
      ['PUT', '/v2/conc/x/tags/list', 'GET'],
      ['DELETE', '/v2/_catalog', 'GET'],
      ['POST', '/v2/', 'GET, HEAD'],
      ['GET', '/v2/conc/x/blobs/uploads/', 'POST'],
      ['POST', `/v2/conc/x/referrers/${digestOf('a')}`, 'GET'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await request(admin, method, path);
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), allow, `${method} ${path}`);
      assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
      assert.deepEqual(
        (await errorsOf(res)).map((e) => e.code),
        ['UNSUPPORTED'],
      );
    }
  });
});
