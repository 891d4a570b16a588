/**
 * A disk that fills up mid-upload (red-team finding: the failure path ended the process). The
 * real server runs as a child process in a private mount namespace whose blob storage is a 4 MiB
 * tmpfs: a real ENOSPC from the kernel, no test double. Each upload that fills it must get a 500,
 * leave nothing visible, and the server must go on serving; once space is freed, pushes work.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { send, startServerProcess, type Child } from '../helpers/child-server.js';
import { requireTools, tempDir } from '../helpers/env.js';

const MiB = 1024 * 1024;

/** Whether this machine lets an unprivileged process mount a tmpfs in a namespace of its own. */
function canMountTmpfs(t: TestContext): boolean {
  if (!requireTools(t, 'unshare')) return false;
  try {
    execFileSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /mnt'], { stdio: 'ignore' });
    return true;
  } catch {
    const msg = 'unshare -rm cannot mount a tmpfs here (user namespaces disabled)';
    if (process.env['CI'] === 'true') throw new Error(msg);
    t.skip(msg);
    return false;
  }
}

async function serverOnSmallDisk(t: TestContext): Promise<{ server: Child }> {
  const dataDir = tempDir(t, 'portcullis-full-disk-');
  mkdirSync(join(dataDir, 'storage'));
  const server = await startServerProcess(t, dataDir, undefined, { PORTCULLIS_SBOM: 'false', PORTCULLIS_SCAN: 'false' }, {
    wrap: (argv) => ['unshare', '-rm', 'sh', '-c', 'mount -t tmpfs -o size=4m tmpfs "$0/storage" && exec "$@"', dataDir, ...argv],
  });
  const res = await send(server.url, '/api/v1/projects', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: [Buffer.from(JSON.stringify({ name: 'disk' }))] });
  assert.equal(res.status, 201, res.body.toString('utf8'));
  return { server };
}

const digestOf = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function* pieces(data: Buffer, size = 256 * 1024): Generator<Buffer> {
  for (let at = 0; at < data.byteLength; at += size) yield data.subarray(at, at + size);
}

async function alive(server: Child): Promise<void> {
  const res = await send(server.url, '/v2/', { method: 'GET' });
  assert.equal(res.status, 200, `the server answers after a full disk:\n${server.output().slice(-2000)}`);
}

async function pushSmall(server: Child): Promise<void> {
  const small = randomBytes(100 * 1024);
  const res = await send(server.url, `/v2/disk/app/blobs/uploads/?digest=${digestOf(small)}`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': small.byteLength }, body: [small] });
  assert.equal(res.status, 201, res.body.toString('utf8'));
}

test('a monolithic upload that fills the disk: 500, no blob, the server serves on', { timeout: 60_000 }, async (t) => {
  if (!canMountTmpfs(t)) return;
  const { server } = await serverOnSmallDisk(t);
  const big = randomBytes(6 * MiB);
  for (const chunked of [false, true]) {
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', ...(chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': big.byteLength }) };
    const res = await send(server.url, `/v2/disk/app/blobs/uploads/?digest=${digestOf(big)}`, { method: 'POST', headers, body: pieces(big) }).catch((err: Error) => ({ status: -1, body: Buffer.from(err.message) }));
    assert.equal(res.status, 500, `chunked=${chunked}: ${res.body.toString('utf8')}`);
    assert.match(res.body.toString('utf8'), /out of storage space/);
    await alive(server);
  }
  const head = await send(server.url, `/v2/disk/app/blobs/${digestOf(big)}`, { method: 'HEAD' });
  assert.equal(head.status, 404, 'no blob became visible');
  await pushSmall(server);
});

test('a PATCH that fills the disk: 500, the session can be cancelled, then pushes work', { timeout: 60_000 }, async (t) => {
  if (!canMountTmpfs(t)) return;
  const { server } = await serverOnSmallDisk(t);
  const start = await send(server.url, '/v2/disk/app/blobs/uploads/', { method: 'POST', headers: { 'Content-Length': 0 } });
  assert.equal(start.status, 202);
  const location = start.headers['location'] as string;
  const big = randomBytes(6 * MiB);
  const res = await send(server.url, location, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' }, body: pieces(big) }).catch((err: Error) => ({ status: -1, body: Buffer.from(err.message) }));
  assert.equal(res.status, 500, res.body.toString('utf8'));
  await alive(server);
  const cancel = await send(server.url, location, { method: 'DELETE' });
  assert.equal(cancel.status, 204);
  await pushSmall(server);
});
