/**
 * Bodies that fail while they are read (red-team finding: one such request ended the process).
 * Each one must get its spec error (413) and leave a server that answers the next request: a
 * chunked 5 MB manifest, a manifest over the limit with Content-Length, and blobs over
 * registry.maxBlobSize by monolithic POST and by PATCH, chunked and with Content-Length, from a
 * robot that may only push. (A full disk mid-upload is tested in test/integration/full-disk.test.ts.)
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { OCI_MANIFEST, digestOf, errorsOf, pushBlob, randomBlob, request, sharedServer, startUpload, streamOf, type Target } from '../../helpers/push.js';
import { basicAuth, createProject, createRobot, type TestServer } from '../../helpers/server.js';

const MiB = 1024 * 1024;
const LIMIT = MiB;

describe('hostile request bodies', { timeout: 60_000 }, () => {
  const server = sharedServer({ config: { registry: { maxBlobSize: '1MiB' } } });
  let s: TestServer;
  let robot: Target;

  before(async () => {
    s = server();
    await createProject(s, 'bodies');
    const r = await createRobot(s, 'pusher', [{ project: 'bodies', actions: ['push'] }]);
    robot = { url: s.url, auth: basicAuth(r.name, r.secret) };
  });

  async function alive(): Promise<void> {
    const res = await request({ url: s.url, auth: s.adminAuth }, 'GET', '/v2/');
    assert.equal(res.status, 200, 'the server answers /v2/ after the hostile request');
    await res.arrayBuffer();
  }

  async function expect413(res: Response, code: string): Promise<void> {
    assert.equal(res.status, 413);
    const [e] = await errorsOf(res);
    assert.equal(e?.code, code);
  }

  const spaces = Buffer.alloc(5 * MiB, 0x20);
  const tooBig = randomBlob(LIMIT + 64 * 1024);
  const tooBigDigest = digestOf(tooBig);

  test('a chunked 5 MB manifest of spaces', async () => {
    await expect413(await request(robot, 'PUT', '/v2/bodies/app/manifests/x', { headers: { 'Content-Type': OCI_MANIFEST }, body: streamOf(spaces, 80) }), 'MANIFEST_INVALID');
    await alive();
  });

  test('a 5 MB manifest with Content-Length', async () => {
    await expect413(await request(robot, 'PUT', '/v2/bodies/app/manifests/x', { headers: { 'Content-Type': OCI_MANIFEST }, body: spaces }), 'MANIFEST_INVALID');
    await alive();
  });

  test('a monolithic POST over maxBlobSize, chunked', async () => {
    await expect413(await request(robot, 'POST', `/v2/bodies/app/blobs/uploads/?digest=${tooBigDigest}`, { headers: { 'Content-Type': 'application/octet-stream' }, body: streamOf(tooBig, 20) }), 'SIZE_INVALID');
    await alive();
  });

  test('a monolithic POST over maxBlobSize, with Content-Length', async () => {
    await expect413(await request(robot, 'POST', `/v2/bodies/app/blobs/uploads/?digest=${tooBigDigest}`, { headers: { 'Content-Type': 'application/octet-stream' }, body: tooBig }), 'SIZE_INVALID');
    await alive();
  });

  test('a PATCH over maxBlobSize, chunked', async () => {
    const location = await startUpload(robot, 'bodies/app');
    await expect413(await request(robot, 'PATCH', location, { headers: { 'Content-Type': 'application/octet-stream' }, body: streamOf(tooBig, 20) }), 'SIZE_INVALID');
    await alive();
  });

  test('a PATCH over maxBlobSize, with Content-Length', async () => {
    const location = await startUpload(robot, 'bodies/app');
    await expect413(await request(robot, 'PATCH', location, { headers: { 'Content-Type': 'application/octet-stream' }, body: tooBig }), 'SIZE_INVALID');
    await alive();
  });

  test('PATCHes that pass maxBlobSize together', async () => {
    const location = await startUpload(robot, 'bodies/app');
    const first = await request(robot, 'PATCH', location, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `0-${LIMIT / 2 - 1}` }, body: tooBig.subarray(0, LIMIT / 2) });
    assert.equal(first.status, 202);
    const next = first.headers.get('location')!;
    await expect413(await request(robot, 'PATCH', next, { headers: { 'Content-Type': 'application/octet-stream' }, body: streamOf(tooBig.subarray(LIMIT / 2), 10) }), 'SIZE_INVALID');
    await alive();
  });

  test('after all of them, a blob within the limit is pushed as usual', async () => {
    const ok = randomBlob(LIMIT);
    assert.equal(await pushBlob(robot, 'bodies/app', ok, { mode: 'chunked' }), digestOf(ok));
  });
});
