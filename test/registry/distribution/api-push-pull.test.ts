/**
 * Core push and pull of the OCI Distribution API over HTTP, on both metadata backends: blobs
 * (monolithic, POST+PUT, chunked, streamed, mounts), manifests by tag and digest, ranges and
 * conditional requests. Expectations follow the OCI Distribution Spec v1.1.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import {
  OCI_MANIFEST,
  blobPath,
  bytesOf,
  deferred,
  digestOf,
  errorsOf,
  gatedStream,
  makeImage,
  patchChunk,
  pushBlob,
  pushImage,
  pushManifest,
  putManifest,
  randomBlob,
  request,
  sharedServer,
  startUpload,
  streamOf,
  withQuery,
  type Target,
} from '../../helpers/push.js';
import { addMember, basicAuth, createProject, createUser, type TestServer } from '../../helpers/server.js';

const API_VERSION = 'registry/2.0';

async function expectError(res: Response, status: number, code: string): Promise<void> {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}`);
  assert.equal(res.headers.get('docker-distribution-api-version'), API_VERSION);
  if (res.headers.get('content-length') === '0' || res.status === 304) return;
  const errors = await errorsOf(res);
  assert.ok(
    errors.some((e) => e.code === code),
    `expected error code ${code}, got ${JSON.stringify(errors)}`,
  );
}

for (const database of ['sqlite', 'postgres'] as const) {
  describe(`distribution API push and pull (${database})`, () => {
    const server = sharedServer({ database });
    let s: TestServer;
    let admin: Target;
    const pw = 'user-password-1';

    before(async () => {
      s = server();
      admin = { url: s.url, auth: s.adminAuth };
      await createProject(s, 'core');
      await createProject(s, 'core2');
      await createUser(s, 'alice', pw);
      await createUser(s, 'bob', pw);
      // alice may read core and push to core2; bob may only push to core2.
      await addMember(s, 'core', 'alice', 'guest');
      await addMember(s, 'core2', 'alice', 'developer');
      await addMember(s, 'core2', 'bob', 'developer');
    });

    // ---------------------------------------------------------------- pull

    test('GET and HEAD of a manifest by tag and by digest return the stored bytes and headers', async () => {
      const image = makeImage({ layers: 2 });
      const pushed = await pushImage(admin, 'core/pull', 'v1', image);
      assert.equal(pushed, digestOf(image.manifest));
      for (const ref of ['v1', image.digest]) {
        const get = await request(admin, 'GET', `/v2/core/pull/manifests/${ref}`, { headers: { Accept: OCI_MANIFEST } });
        assert.equal(get.status, 200);
        assert.equal(get.headers.get('content-type'), OCI_MANIFEST);
        assert.equal(get.headers.get('docker-content-digest'), image.digest);
        assert.equal(get.headers.get('content-length'), String(image.manifest.byteLength));
        assert.equal(get.headers.get('docker-distribution-api-version'), API_VERSION);
        const body = await bytesOf(get);
        assert.ok(body.equals(image.manifest), 'the body is the pushed manifest, byte for byte');
        assert.equal(digestOf(body), image.digest);

        const head = await request(admin, 'HEAD', `/v2/core/pull/manifests/${ref}`);
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-type'), OCI_MANIFEST);
        assert.equal(head.headers.get('docker-content-digest'), image.digest);
        assert.equal(head.headers.get('content-length'), String(image.manifest.byteLength));
        assert.equal((await bytesOf(head)).byteLength, 0);
      }
    });

    test('GET and HEAD of a blob return its content, length and digest', async () => {
      const data = randomBlob(70_000);
      const digest = await pushBlob(admin, 'core/pull', data);
      const get = await request(admin, 'GET', `/v2/core/pull/blobs/${digest}`);
      assert.equal(get.status, 200);
      assert.equal(get.headers.get('docker-content-digest'), digest);
      assert.equal(get.headers.get('content-length'), String(data.byteLength));
      const body = await bytesOf(get);
      assert.ok(body.equals(data));
      assert.equal(digestOf(body), digest);

      const head = await request(admin, 'HEAD', `/v2/core/pull/blobs/${digest}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('docker-content-digest'), digest);
      assert.equal(head.headers.get('content-length'), String(data.byteLength));
      assert.equal((await bytesOf(head)).byteLength, 0);
    });

    test('a blob of many read chunks pulls intact, and a client leaving mid-pull does not disturb the next', async () => {
      const data = randomBlob(9 * 1024 * 1024 + 7);
      const digest = await pushBlob(admin, 'core/pull', data);
      const path = `/v2/core/pull/blobs/${digest}`;
      const abort = new AbortController();
      const partial = await request(admin, 'GET', path, { signal: abort.signal });
      assert.equal(partial.status, 200);
      const reader = partial.body!.getReader();
      const first = await reader.read();
      assert.ok(first.value !== undefined && first.value.byteLength > 0);
      abort.abort();
      await reader.read().catch(() => undefined);
      for (let i = 0; i < 2; i++) {
        const body = await bytesOf(await request(admin, 'GET', path));
        assert.equal(body.byteLength, data.byteLength);
        assert.equal(digestOf(body), digest);
      }
      const ranged = await request(admin, 'GET', path, { headers: { Range: 'bytes=2097150-4194305' } });
      assert.equal(ranged.status, 206);
      assert.ok((await bytesOf(ranged)).equals(data.subarray(2097150, 4194306)), 'a range across read-chunk boundaries');
    });

    test('Range requests on blobs: 206 with Content-Range, suffix ranges, 416 when unsatisfiable', async () => {
      const data = randomBlob(1000);
      const digest = await pushBlob(admin, 'core/pull', data);
      const path = `/v2/core/pull/blobs/${digest}`;
      const cases: { range: string; start: number; end: number }[] = [
        { range: 'bytes=10-19', start: 10, end: 19 },
        { range: 'bytes=990-', start: 990, end: 999 },
        { range: 'bytes=-16', start: 984, end: 999 },
        { range: 'bytes=0-5000', start: 0, end: 999 },
      ];
      for (const c of cases) {
        const res = await request(admin, 'GET', path, { headers: { Range: c.range } });
        assert.equal(res.status, 206, c.range);
        assert.equal(res.headers.get('content-range'), `bytes ${c.start}-${c.end}/1000`, c.range);
        assert.equal(res.headers.get('content-length'), String(c.end - c.start + 1), c.range);
        assert.ok((await bytesOf(res)).equals(data.subarray(c.start, c.end + 1)), c.range);
      }
      for (const range of ['bytes=1000-', 'bytes=5000-6000']) {
        const res = await request(admin, 'GET', path, { headers: { Range: range } });
        assert.equal(res.status, 416, range);
        assert.equal(res.headers.get('content-range'), 'bytes */1000', range);
        await res.arrayBuffer();
      }
    });

    test('If-None-Match with the manifest digest answers 304 without a body', async () => {
      const image = makeImage();
      await pushImage(admin, 'core/pull', 'etag', image);
      const first = await request(admin, 'GET', '/v2/core/pull/manifests/etag');
      const etag = first.headers.get('etag');
      await first.arrayBuffer();
      assert.ok(etag !== null && etag.includes(image.digest), `ETag names the digest: ${etag}`);
      for (const inm of [etag, `"${image.digest}"`]) {
        const res = await request(admin, 'GET', '/v2/core/pull/manifests/etag', { headers: { 'If-None-Match': inm } });
        assert.equal(res.status, 304);
        assert.equal(res.headers.get('docker-distribution-api-version'), API_VERSION);
        assert.equal((await bytesOf(res)).byteLength, 0);
      }
      const other = await request(admin, 'GET', '/v2/core/pull/manifests/etag', { headers: { 'If-None-Match': `"${digestOf('x')}"` } });
      assert.equal(other.status, 200);
      assert.ok((await bytesOf(other)).equals(image.manifest));
    });

    test('unknown manifests and blobs are 404 MANIFEST_UNKNOWN and BLOB_UNKNOWN', async () => {
      await pushBlob(admin, 'core/pull', randomBlob(10));
      await expectError(await request(admin, 'GET', '/v2/core/pull/manifests/no-such-tag'), 404, 'MANIFEST_UNKNOWN');
      await expectError(await request(admin, 'GET', `/v2/core/pull/manifests/${digestOf('nothing')}`), 404, 'MANIFEST_UNKNOWN');
      assert.equal((await request(admin, 'HEAD', '/v2/core/pull/manifests/no-such-tag')).status, 404);
      await expectError(await request(admin, 'GET', `/v2/core/pull/blobs/${digestOf('nothing')}`), 404, 'BLOB_UNKNOWN');
      assert.equal((await request(admin, 'HEAD', `/v2/core/pull/blobs/${digestOf('nothing')}`)).status, 404);
    });

    test('a blob pushed to one repository is not readable through another, even by the admin', async () => {
      const data = randomBlob(300);
      const digest = await pushBlob(admin, 'core/a', data);
      await pushBlob(admin, 'core/b', randomBlob(10)); // repository b exists
      await expectError(await request(admin, 'GET', `/v2/core/b/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
      assert.equal((await request(admin, 'HEAD', `/v2/core/b/blobs/${digest}`)).status, 404);
      await expectError(await request(admin, 'GET', `/v2/core2/b/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
      // A manifest in b cannot borrow it either.
      const image = makeImage({ layers: 0 });
      await pushBlob(admin, 'core/b', image.config.data);
      const doc = JSON.parse(image.manifest.toString()) as { layers: unknown[] };
      doc.layers = [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: data.byteLength }];
      await expectError(await putManifest(admin, 'core/b', 'borrow', JSON.stringify(doc), OCI_MANIFEST), 400, 'MANIFEST_BLOB_UNKNOWN');
      // Nor are manifests shared between repositories.
      const manifest = makeImage();
      await pushImage(admin, 'core/a', 'only-a', manifest);
      await expectError(await request(admin, 'GET', `/v2/core/b/manifests/${manifest.digest}`), 404, 'MANIFEST_UNKNOWN');
      await expectError(await request(admin, 'GET', '/v2/core/b/manifests/only-a'), 404, 'MANIFEST_UNKNOWN');
    });

    // ---------------------------------------------------------------- blob push

    test('monolithic POST ?digest= answers 201 with Location and Docker-Content-Digest', async () => {
      const data = randomBlob(4096);
      const digest = digestOf(data);
      const res = await request(admin, 'POST', `/v2/core/push/blobs/uploads/?digest=${digest}`, { headers: { 'Content-Type': 'application/octet-stream' }, body: data });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('docker-content-digest'), digest);
      const location = res.headers.get('location');
      assert.ok(location !== null);
      const get = await request(admin, 'GET', location);
      assert.equal(get.status, 200);
      assert.ok((await bytesOf(get)).equals(data));
    });

    test('POST then PUT with the whole body completes an upload', async () => {
      const data = randomBlob(5000);
      const digest = digestOf(data);
      const location = await startUpload(admin, 'core/push');
      const res = await request(admin, 'PUT', withQuery(location, { digest }), { headers: { 'Content-Type': 'application/octet-stream' }, body: data });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('docker-content-digest'), digest);
      assert.ok(res.headers.get('location') !== null);
      const get = await request(admin, 'GET', `/v2/core/push/blobs/${digest}`);
      assert.ok((await bytesOf(get)).equals(data));
    });

    test('chunked upload: POST, PATCHes with Content-Range (202, Range 0-N), status 204, PUT', async () => {
      const data = randomBlob(3 * 1024 + 17);
      const digest = digestOf(data);
      const post = await request(admin, 'POST', '/v2/core/push/blobs/uploads/');
      assert.equal(post.status, 202);
      let location = post.headers.get('location');
      assert.ok(location !== null);
      let offset = 0;
      for (const size of [1024, 1024, 1024, 17]) {
        const res = await patchChunk(admin, location, data.subarray(offset, offset + size), offset);
        offset += size;
        assert.equal(res.status, 202);
        assert.equal(res.headers.get('range'), `0-${offset - 1}`);
        location = res.headers.get('location');
        assert.ok(location !== null);
        const status = await request(admin, 'GET', location);
        assert.equal(status.status, 204);
        assert.equal(status.headers.get('range'), `0-${offset - 1}`);
        assert.ok(status.headers.get('location') !== null);
      }
      const put = await request(admin, 'PUT', withQuery(location, { digest }));
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('docker-content-digest'), digest);
      assert.equal(put.headers.get('location'), `/v2/core/push/blobs/${digest}`);
      const get = await request(admin, 'GET', `/v2/core/push/blobs/${digest}`);
      assert.ok((await bytesOf(get)).equals(data));
      // The session ended with the PUT.
      await expectError(await request(admin, 'GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
    });

    test('the closing PUT may carry the last chunk with its Content-Range', async () => {
      const data = randomBlob(3000);
      const digest = digestOf(data);
      let location = await startUpload(admin, 'core/push');
      const first = await patchChunk(admin, location, data.subarray(0, 2000), 0);
      assert.equal(first.status, 202);
      location = first.headers.get('location') ?? location;
      const put = await request(admin, 'PUT', withQuery(location, { digest }), {
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '2000-2999' },
        body: data.subarray(2000),
      });
      assert.equal(put.status, 201);
      assert.ok((await bytesOf(await request(admin, 'GET', `/v2/core/push/blobs/${digest}`))).equals(data));
    });

    test('PATCH without Content-Range appends (fixed length and streamed)', async () => {
      const data = randomBlob(6000);
      const digest = digestOf(data);
      let location = await startUpload(admin, 'core/push');
      const first = await request(admin, 'PATCH', location, { headers: { 'Content-Type': 'application/octet-stream' }, body: data.subarray(0, 2500) });
      assert.equal(first.status, 202);
      assert.equal(first.headers.get('range'), '0-2499');
      location = first.headers.get('location') ?? location;
      const second = await request(admin, 'PATCH', location, { headers: { 'Content-Type': 'application/octet-stream' }, body: streamOf(data.subarray(2500), 3) });
      assert.equal(second.status, 202);
      assert.equal(second.headers.get('range'), '0-5999');
      location = second.headers.get('location') ?? location;
      const put = await request(admin, 'PUT', withQuery(location, { digest }));
      assert.equal(put.status, 201);
      const get = await request(admin, 'GET', `/v2/core/push/blobs/${digest}`);
      assert.ok((await bytesOf(get)).equals(data));
    });

    test('an out-of-order chunk is 416 with the stored Range, and the upload can then go on', async () => {
      const data = randomBlob(3000);
      const digest = digestOf(data);
      let location = await startUpload(admin, 'core/push');
      const first = await patchChunk(admin, location, data.subarray(0, 1000), 0);
      assert.equal(first.status, 202);
      location = first.headers.get('location') ?? location;
      // Skips bytes 1000-1999.
      const skipped = await patchChunk(admin, location, data.subarray(2000, 3000), 2000);
      assert.equal(skipped.status, 416);
      assert.equal(skipped.headers.get('range'), '0-999');
      await skipped.arrayBuffer();
      // Re-sends the first chunk.
      const again = await patchChunk(admin, location, data.subarray(0, 1000), 0);
      assert.equal(again.status, 416);
      assert.equal(again.headers.get('range'), '0-999');
      await again.arrayBuffer();
      const status = await request(admin, 'GET', location);
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), '0-999');
      for (const at of [1000, 2000]) {
        const res = await patchChunk(admin, location, data.subarray(at, at + 1000), at);
        assert.equal(res.status, 202);
        location = res.headers.get('location') ?? location;
      }
      const put = await request(admin, 'PUT', withQuery(location, { digest }));
      assert.equal(put.status, 201);
      const get = await request(admin, 'GET', `/v2/core/push/blobs/${digest}`);
      const body = await bytesOf(get);
      assert.equal(digestOf(body), digest);
    });

    test('PUT without a digest is 400 DIGEST_INVALID', async () => {
      const location = await startUpload(admin, 'core/push');
      const patched = await patchChunk(admin, location, randomBlob(100), 0);
      assert.equal(patched.status, 202);
      await expectError(await request(admin, 'PUT', patched.headers.get('location') ?? location), 400, 'DIGEST_INVALID');
    });

    test('a wrong digest on PUT is 400 DIGEST_INVALID and stores nothing under that digest', async () => {
      const data = randomBlob(2000);
      const claimed = digestOf(randomBlob(2000));
      // chunked, then closed with the wrong digest
      let location = await startUpload(admin, 'core/push');
      const patched = await patchChunk(admin, location, data, 0);
      location = patched.headers.get('location') ?? location;
      await expectError(await request(admin, 'PUT', withQuery(location, { digest: claimed })), 400, 'DIGEST_INVALID');
      // POST then PUT with the body
      const other = await startUpload(admin, 'core/push');
      await expectError(await request(admin, 'PUT', withQuery(other, { digest: claimed }), { headers: { 'Content-Type': 'application/octet-stream' }, body: data }), 400, 'DIGEST_INVALID');
      // monolithic
      await expectError(await request(admin, 'POST', `/v2/core/push/blobs/uploads/?digest=${claimed}`, { headers: { 'Content-Type': 'application/octet-stream' }, body: data }), 400, 'DIGEST_INVALID');

      assert.equal((await request(admin, 'HEAD', `/v2/core/push/blobs/${claimed}`)).status, 404);
      await expectError(await request(admin, 'GET', `/v2/core/push/blobs/${claimed}`), 404, 'BLOB_UNKNOWN');
      assert.equal((await request(admin, 'HEAD', `/v2/core/push/blobs/${digestOf(data)}`)).status, 404, 'nor under the digest of what was sent');
      assert.equal(existsSync(blobPath(s.dataDir, claimed)), false, 'no file for the claimed digest');
      assert.equal(existsSync(blobPath(s.dataDir, digestOf(data))), false, 'no file for the content digest');
    });

    // A push whose content does not hash to the claimed digest must not touch the blob that
    // really has that digest (pushed earlier, possibly by another project).
    for (const mode of ['monolithic', 'post-put'] as const) {
      test(`a rejected ${mode} push claiming the digest of an existing blob leaves that blob intact`, async () => {
        const data = randomBlob(1000);
        const digest = await pushBlob(admin, `core/victim-${mode}`, data);
        const junk = randomBlob(10);
        const octet = { 'Content-Type': 'application/octet-stream' };
        if (mode === 'monolithic') {
          await expectError(await request(admin, 'POST', `/v2/core2/attacker/blobs/uploads/?digest=${digest}`, { headers: octet, body: junk }), 400, 'DIGEST_INVALID');
        } else {
          const location = await startUpload(admin, 'core2/attacker');
          await expectError(await request(admin, 'PUT', withQuery(location, { digest }), { headers: octet, body: junk }), 400, 'DIGEST_INVALID');
        }
        const head = await request(admin, 'HEAD', `/v2/core/victim-${mode}/blobs/${digest}`);
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-length'), String(data.byteLength), 'HEAD still reports the real size');
        const get = await request(admin, 'GET', `/v2/core/victim-${mode}/blobs/${digest}`);
        assert.equal(get.status, 200);
        assert.equal(get.headers.get('content-length'), String(data.byteLength), 'GET still declares the real size');
        assert.ok((await bytesOf(get)).equals(data));
      });
    }

    // Streamed monolithic pushes (no Content-Length) of a blob that exists elsewhere: while the
    // body is in flight, and after the client gives up, the existing blob must keep its size.
    test('a streamed monolithic push of an existing blob does not change its size while in flight', async () => {
      const data = randomBlob(4000);
      const digest = await pushBlob(admin, 'core/steady', data);
      const gate = deferred();
      const pending = request(admin, 'POST', `/v2/core2/steady/blobs/uploads/?digest=${digest}`, {
        headers: { 'Content-Type': 'application/octet-stream' },
        body: gatedStream(data.subarray(0, 1000), gate.promise, data.subarray(1000)),
      });
      const seen = new Set<string | null>();
      try {
        for (let i = 0; i < 15; i++) {
          const head = await request(admin, 'HEAD', `/v2/core/steady/blobs/${digest}`);
          seen.add(head.headers.get('content-length'));
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        gate.resolve();
      }
      const res = await pending;
      assert.equal(res.status, 201);
      assert.deepEqual([...seen], [String(data.byteLength)], 'HEAD in another repository reported only the real size');
    });

    test('an abandoned streamed push of an existing blob leaves its size intact', async () => {
      const data = randomBlob(4000);
      const digest = await pushBlob(admin, 'core/abandoned', data);
      const controller = new AbortController();
      const gate = deferred();
      const pending = request(admin, 'POST', `/v2/core2/abandoned/blobs/uploads/?digest=${digest}`, {
        headers: { 'Content-Type': 'application/octet-stream' },
        body: gatedStream(data.subarray(0, 1000), gate.promise, data.subarray(1000)),
        signal: controller.signal,
      });
      // Give the server the headers and the first bytes, then hang up.
      for (let i = 0; i < 50; i++) {
        const status = await request(admin, 'GET', '/v2/core2/abandoned/tags/list');
        await status.arrayBuffer();
        if (status.status === 200) break; // the repository exists: the server is in the upload
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 50));
      controller.abort();
      await pending.catch(() => undefined);
      gate.resolve();
      await new Promise((r) => setTimeout(r, 100));
      const head = await request(admin, 'HEAD', `/v2/core/abandoned/blobs/${digest}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(data.byteLength));
      const get = await request(admin, 'GET', `/v2/core/abandoned/blobs/${digest}`);
      assert.ok((await bytesOf(get)).equals(data));
    });

    test('sha512 digests work end to end: blobs, manifest by digest, pulls', async () => {
      const image = makeImage({ layers: 2, algorithm: 'sha512' });
      assert.ok(image.digest.startsWith('sha512:'));
      await pushBlob(admin, 'core/sha512', image.config.data, { algorithm: 'sha512' });
      await pushBlob(admin, 'core/sha512', image.layers[0]!.data, { algorithm: 'sha512', mode: 'chunked' });
      await pushBlob(admin, 'core/sha512', image.layers[1]!.data, { algorithm: 'sha512', mode: 'post-put' });
      const digest = await pushManifest(admin, 'core/sha512', image.digest, image.manifest, OCI_MANIFEST);
      assert.equal(digest, image.digest);
      const get = await request(admin, 'GET', `/v2/core/sha512/manifests/${image.digest}`);
      assert.equal(get.status, 200);
      assert.equal(get.headers.get('docker-content-digest'), image.digest);
      assert.ok((await bytesOf(get)).equals(image.manifest));
      for (const b of [image.config, ...image.layers]) {
        const res = await request(admin, 'GET', `/v2/core/sha512/blobs/${b.digest}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('docker-content-digest'), b.digest);
        assert.equal(digestOf(await bytesOf(res), 'sha512'), b.digest);
      }
      assert.ok(existsSync(blobPath(s.dataDir, image.layers[0]!.digest)));
    });

    test('DELETE of an upload is 204, then the session is 404 BLOB_UPLOAD_UNKNOWN', async () => {
      const location = await startUpload(admin, 'core/push');
      const patched = await patchChunk(admin, location, randomBlob(100), 0);
      const next = patched.headers.get('location') ?? location;
      const del = await request(admin, 'DELETE', next);
      assert.equal(del.status, 204);
      await expectError(await request(admin, 'GET', next), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectError(await patchChunk(admin, next, randomBlob(10), 100), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectError(await request(admin, 'PUT', withQuery(next, { digest: digestOf('x') })), 404, 'BLOB_UPLOAD_UNKNOWN');
    });

    test('an upload id of one repository is BLOB_UPLOAD_UNKNOWN on another', async () => {
      const data = randomBlob(100);
      const location = await startUpload(admin, 'core/a');
      await pushBlob(admin, 'core/b', randomBlob(5));
      const id = location.split('/').pop()!.split('?')[0]!;
      const foreign = `/v2/core/b/blobs/uploads/${id}`;
      await expectError(await request(admin, 'GET', foreign), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectError(await patchChunk(admin, foreign, data, 0), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectError(await request(admin, 'PUT', withQuery(foreign, { digest: digestOf(data) }), { body: data }), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectError(await request(admin, 'DELETE', foreign), 404, 'BLOB_UPLOAD_UNKNOWN');
      // The session still works where it belongs.
      const ok = await request(admin, 'PUT', withQuery(location, { digest: digestOf(data) }), { body: data });
      assert.equal(ok.status, 201);
      assert.equal((await request(admin, 'HEAD', `/v2/core/b/blobs/${digestOf(data)}`)).status, 404);
    });

    test('cross-repository mount with pull rights on the source: 201 and readable in the target', async () => {
      const data = randomBlob(2048);
      const digest = await pushBlob(admin, 'core/src', data);
      const alice: Target = { url: s.url, auth: basicAuth('alice', pw) };
      const res = await request(alice, 'POST', `/v2/core2/mounted/blobs/uploads/?mount=${digest}&from=core/src`);
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('docker-content-digest'), digest);
      assert.equal(res.headers.get('location'), `/v2/core2/mounted/blobs/${digest}`);
      const get = await request(alice, 'GET', `/v2/core2/mounted/blobs/${digest}`);
      assert.equal(get.status, 200);
      assert.ok((await bytesOf(get)).equals(data));
    });

    test('cross-repository mount without pull rights on the source opens an upload session instead', async () => {
      const data = randomBlob(2048);
      const digest = await pushBlob(admin, 'core/secret', data);
      const bob: Target = { url: s.url, auth: basicAuth('bob', pw) };
      assert.equal((await request(bob, 'HEAD', `/v2/core/secret/blobs/${digest}`)).status, 403, 'bob cannot read the source');
      const res = await request(bob, 'POST', `/v2/core2/stolen/blobs/uploads/?mount=${digest}&from=core/secret`);
      assert.equal(res.status, 202);
      assert.ok(res.headers.get('location')?.includes('/v2/core2/stolen/blobs/uploads/'));
      assert.equal((await request(admin, 'HEAD', `/v2/core2/stolen/blobs/${digest}`)).status, 404);
      assert.equal((await request(bob, 'HEAD', `/v2/core2/stolen/blobs/${digest}`)).status, 404);
    });

    test('mount from a repository that lacks the blob opens an upload session', async () => {
      const data = randomBlob(512);
      const digest = await pushBlob(admin, 'core/has', data);
      await pushBlob(admin, 'core/lacks', randomBlob(5));
      for (const from of ['core/lacks', 'core/never-created', 'Not/Valid']) {
        const res = await request(admin, 'POST', `/v2/core/target/blobs/uploads/?mount=${digest}&from=${from}`);
        assert.equal(res.status, 202, from);
        assert.ok(res.headers.get('location') !== null, from);
      }
      assert.equal((await request(admin, 'HEAD', `/v2/core/target/blobs/${digest}`)).status, 404);
      // A mount that falls back to an upload still completes as one.
      const res = await request(admin, 'POST', `/v2/core/target/blobs/uploads/?mount=${digest}&from=core/lacks`);
      const put = await request(admin, 'PUT', withQuery(res.headers.get('location')!, { digest }), { body: data });
      assert.equal(put.status, 201);
    });

    // ---------------------------------------------------------------- manifests

    test('manifest PUT by tag and by digest; a digest that does not match is 400 DIGEST_INVALID', async () => {
      const image = makeImage();
      for (const b of [image.config, ...image.layers]) await pushBlob(admin, 'core/man', b.data);
      const byTag = await putManifest(admin, 'core/man', 'latest', image.manifest, OCI_MANIFEST);
      assert.equal(byTag.status, 201);
      assert.equal(byTag.headers.get('docker-content-digest'), image.digest);
      assert.ok(byTag.headers.get('location')?.endsWith(`/v2/core/man/manifests/${image.digest}`));

      const second = makeImage();
      for (const b of [second.config, ...second.layers]) await pushBlob(admin, 'core/man', b.data);
      await expectError(await putManifest(admin, 'core/man', image.digest, second.manifest, OCI_MANIFEST), 400, 'DIGEST_INVALID');
      await expectError(await request(admin, 'GET', `/v2/core/man/manifests/${second.digest}`), 404, 'MANIFEST_UNKNOWN');
      const byDigest = await putManifest(admin, 'core/man', second.digest, second.manifest, OCI_MANIFEST);
      assert.equal(byDigest.status, 201);
      assert.equal(byDigest.headers.get('docker-content-digest'), second.digest);
      const get = await request(admin, 'GET', `/v2/core/man/manifests/${second.digest}`);
      assert.ok((await bytesOf(get)).equals(second.manifest));
    });

    test('re-pushing a tag moves it to the new digest; the old manifest stays by digest', async () => {
      const one = makeImage();
      const two = makeImage();
      await pushImage(admin, 'core/move', 'stable', one);
      await pushImage(admin, 'core/move', 'stable', two);
      const tag = await request(admin, 'GET', '/v2/core/move/manifests/stable');
      assert.equal(tag.headers.get('docker-content-digest'), two.digest);
      assert.ok((await bytesOf(tag)).equals(two.manifest));
      const old = await request(admin, 'HEAD', `/v2/core/move/manifests/${one.digest}`);
      assert.equal(old.status, 200);
    });

    test('DELETE by digest is 202, then the manifest and its tags are gone', async () => {
      const image = makeImage();
      await pushImage(admin, 'core/del', 'gone', image);
      const del = await request(admin, 'DELETE', `/v2/core/del/manifests/${image.digest}`);
      assert.equal(del.status, 202);
      await expectError(await request(admin, 'GET', `/v2/core/del/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
      await expectError(await request(admin, 'GET', '/v2/core/del/manifests/gone'), 404, 'MANIFEST_UNKNOWN');
      await expectError(await request(admin, 'DELETE', `/v2/core/del/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
    });

    test('DELETE by tag removes only the tag', async () => {
      const image = makeImage();
      await pushImage(admin, 'core/del', 'a', image);
      await pushManifest(admin, 'core/del', 'b', image.manifest, OCI_MANIFEST);
      const del = await request(admin, 'DELETE', '/v2/core/del/manifests/a');
      assert.equal(del.status, 202);
      await expectError(await request(admin, 'GET', '/v2/core/del/manifests/a'), 404, 'MANIFEST_UNKNOWN');
      assert.equal((await request(admin, 'HEAD', '/v2/core/del/manifests/b')).status, 200);
      assert.equal((await request(admin, 'HEAD', `/v2/core/del/manifests/${image.digest}`)).status, 200);
      const tags = (await (await request(admin, 'GET', '/v2/core/del/tags/list')).json()) as { tags: string[] };
      assert.ok(!tags.tags.includes('a'));
      assert.ok(tags.tags.includes('b'));
    });

    test('tags are listed in lexical (byte) order', async () => {
      const image = makeImage();
      await pushImage(admin, 'core/order', 'seed', image);
      const tags = ['b', 'B', 'a', 'A', '1.0', '10', '2', '_x', 'a-b', 'a.b', 'a_b', 'Z'];
      for (const t of tags) await pushManifest(admin, 'core/order', t, image.manifest, OCI_MANIFEST);
      const res = await request(admin, 'GET', '/v2/core/order/tags/list');
      assert.equal(res.status, 200);
      const body = (await res.json()) as { name: string; tags: string[] };
      assert.equal(body.name, 'core/order');
      const expected = [...tags, 'seed'].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      assert.deepEqual(body.tags, expected);
    });
  });
}
