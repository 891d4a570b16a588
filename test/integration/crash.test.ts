/**
 * Crash safety of blob uploads: the real server runs as a child process (the CLI's `serve`), is
 * SIGKILLed in the middle of a 200 MB upload and restarted on the same data directory. No
 * partial or corrupt blob may become visible, and the client must be able to finish the push.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { send, startServerProcess as startChild, type Response } from '../helpers/child-server.js';
import { jarBomb } from '../helpers/hostile.js';
import { artifactPath, pushLayeredImage, scanStatus } from '../helpers/registry-jobs.js';
import { tempDir } from '../helpers/env.js';
import { ADMIN_PASSWORD, basicAuth } from '../helpers/server.js';

const MiB = 1024 * 1024;
const BLOB_SIZE = 200 * MiB;
const AUTH = basicAuth('admin', ADMIN_PASSWORD);

// ------------------------------------------------------------------ the blob

/** Deterministic pseudo-random content: the AES-128-CTR keystream of `seed`, `size` bytes, 1 MiB at a time. */
function* blobChunks(seed: string, size: number, from = 0): Generator<Buffer> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  // CTR mode: start the counter at the block `from` lies in, then drop the bytes before it.
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(Math.floor(from / 16)), 8);
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  let skip = from % 16;
  const zeros = Buffer.alloc(MiB);
  for (let at = from; at < size; ) {
    const want = Math.min(MiB, size - at);
    let chunk = cipher.update(zeros.subarray(0, want + skip));
    if (skip > 0) {
      chunk = chunk.subarray(skip);
      skip = 0;
    }
    yield chunk;
    at += chunk.byteLength;
  }
}

/** Bytes [start, end) of the blob, as 1 MiB pieces. */
function* blobRange(seed: string, start: number, end: number): Generator<Buffer> {
  yield* blobChunks(seed, end, start);
}

function digestOfBlob(seed: string, size: number): string {
  const h = createHash('sha256');
  for (const c of blobChunks(seed, size)) h.update(c);
  return `sha256:${h.digest('hex')}`;
}

/** GETs a blob and hashes it as it streams. */
function hashBlob(base: string, name: string, digest: string): Promise<{ status: number; digest: string; size: number }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(`/v2/${name}/blobs/${digest}`, base), { headers: { Authorization: AUTH } }, (res) => {
      const h = createHash('sha256');
      let size = 0;
      res.on('data', (c: Buffer) => {
        h.update(c);
        size += c.byteLength;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, digest: `sha256:${h.digest('hex')}`, size }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function header(res: Response, name: string): string {
  const v = res.headers[name];
  assert.ok(typeof v === 'string', `response has a ${name} header (status ${res.status}: ${res.body.toString('utf8').slice(0, 300)})`);
  return v;
}

async function createProject(base: string, name: string): Promise<void> {
  const res = await send(base, '/api/v1/projects', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: [Buffer.from(JSON.stringify({ name, public: false }))] });
  assert.equal(res.status, 201, res.body.toString('utf8'));
}

/** Pushes a blob with one monolithic POST ?digest=. */
async function pushMonolithic(base: string, name: string, data: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const res = await send(base, `/v2/${name}/blobs/uploads/?digest=${digest}`, { method: 'POST', headers: { 'Content-Length': data.byteLength, 'Content-Type': 'application/octet-stream' }, body: [data] });
  assert.equal(res.status, 201, res.body.toString('utf8'));
  return digest;
}

/** Starts an upload session; resolves to its Location. */
async function startSession(base: string, name: string): Promise<string> {
  const res = await send(base, `/v2/${name}/blobs/uploads/`, { method: 'POST', headers: { 'Content-Length': 0 } });
  assert.equal(res.status, 202, res.body.toString('utf8'));
  return header(res, 'location');
}

/** PATCHes bytes [start, end) of the blob to the session; resolves to the new Location. */
async function patch(base: string, location: string, seed: string, start: number, end: number, onSent?: (sent: number) => Promise<void> | void): Promise<string> {
  const res = await send(base, location, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': end - start, 'Content-Range': `${start}-${end - 1}` },
    body: blobRange(seed, start, end),
    ...(onSent !== undefined ? { onSent } : {}),
  });
  assert.equal(res.status, 202, `PATCH ${start}-${end - 1}: ${res.status} ${res.body.toString('utf8')}`);
  assert.equal(header(res, 'range'), `0-${end - 1}`);
  return header(res, 'location');
}

async function finish(base: string, location: string, digest: string): Promise<Response> {
  const url = new URL(location, base);
  url.searchParams.set('digest', digest);
  return send(base, `${url.pathname}${url.search}`, { method: 'PUT', headers: { 'Content-Length': 0 } });
}

/** Pushes the blob with POST, PATCHes of `chunk` bytes and a final PUT. */
async function pushChunked(base: string, name: string, seed: string, size: number, digest: string, chunk = 50 * MiB): Promise<void> {
  let location = await startSession(base, name);
  for (let at = 0; at < size; at += chunk) location = await patch(base, location, seed, at, Math.min(size, at + chunk));
  const res = await finish(base, location, digest);
  assert.equal(res.status, 201, res.body.toString('utf8'));
  assert.equal(header(res, 'docker-content-digest'), digest);
}

// ------------------------------------------------------------------ what is on disk

function blobPath(dataDir: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(dataDir, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex);
}

/** Every file under storage/blobs, hashed: none may hash to anything but its name. */
function scanBlobs(dataDir: string): { count: number; bad: string[] } {
  const root = join(dataDir, 'storage', 'blobs');
  const bad: string[] = [];
  let count = 0;
  const walk = (dir: string, rel: string[]) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        walk(p, [...rel, name]);
        continue;
      }
      count++;
      const [algorithm, prefix] = rel;
      const h = createHash('sha256');
      readFileInPieces(p, (c) => h.update(c));
      const actual = h.digest('hex');
      if (algorithm !== 'sha256' || prefix !== name.slice(0, 2) || actual !== name) bad.push(`${rel.join('/')}/${name} hashes to sha256:${actual}`);
    }
  };
  if (existsSync(root)) walk(root, []);
  return { count, bad };
}

/** Reads a file in 8 MiB pieces (synchronously: the server is another process). */
function readFileInPieces(path: string, each: (chunk: Buffer) => void): void {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(8 * MiB);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.byteLength, null);
      if (n === 0) break;
      each(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

/** Size of the largest file in `dir` whose name starts with `prefix` (0 when none). */
function largestFile(dir: string, prefix = ''): number {
  if (!existsSync(dir)) return 0;
  let max = 0;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    try {
      max = Math.max(max, statSync(join(dir, name)).size);
    } catch {
      // gone meanwhile
    }
  }
  return max;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Small blobs pushed before the crash, so the blob scan has something to check. */
async function pushSmallBlobs(base: string, name: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 3; i++) out.push(await pushMonolithic(base, name, Buffer.concat([...blobChunks(`small-${i}`, 100_000 + i * 4_321)])));
  return out;
}

async function assertSmallBlobsIntact(base: string, name: string, digests: readonly string[]): Promise<void> {
  for (const d of digests) {
    const got = await hashBlob(base, name, d);
    assert.equal(got.status, 200);
    assert.equal(got.digest, d);
  }
}

// ------------------------------------------------------------------ tests

test('SIGKILL during a 200 MB monolithic upload leaves no blob behind, and the push succeeds after restart', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir(t, 'portcullis-crash-');
  const seed = 'crash-monolithic';
  const digest = digestOfBlob(seed, BLOB_SIZE);
  const name = 'crash/big';

  let server = await startChild(t, dataDir);
  await createProject(server.url, 'crash');
  const small = await pushSmallBlobs(server.url, name);

  // Stream the blob; once ~100 MB are out and the server has staged most of it, kill it.
  const tmpDir = join(dataDir, 'storage', 'tmp');
  let killedAt = 0;
  let staged = 0;
  const upload = send(server.url, `/v2/${name}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': BLOB_SIZE },
    body: blobChunks(seed, BLOB_SIZE),
    onSent: async (sent) => {
      if (killedAt > 0 || sent < 100 * MiB) return;
      await waitFor('the server to stage 80 MB of the upload', () => largestFile(tmpDir, 'put-') >= 80 * MiB);
      staged = largestFile(tmpDir, 'put-');
      killedAt = sent;
      await server.kill();
    },
  });
  await assert.rejects(upload, 'the upload is cut off by the crash');
  await server.kill();
  assert.ok(killedAt >= 100 * MiB && killedAt < BLOB_SIZE, `killed after ${killedAt} bytes`);
  assert.equal(server.process.signalCode, 'SIGKILL');
  t.diagnostic(`killed after sending ${(killedAt / MiB).toFixed(1)} MiB; ${(staged / MiB).toFixed(1)} MiB were staged`);

  server = await startChild(t, dataDir, server.port);
  const head = await send(server.url, `/v2/${name}/blobs/${digest}`, { method: 'HEAD' });
  assert.equal(head.status, 404, 'the interrupted blob is unknown');
  assert.equal(existsSync(blobPath(dataDir, digest)), false, 'no file for the interrupted blob under storage/blobs');
  const scan = scanBlobs(dataDir);
  assert.deepEqual(scan.bad, [], 'every file under storage/blobs hashes to its name');
  assert.ok(scan.count >= small.length, `scanned ${scan.count} blobs`);
  await assertSmallBlobsIntact(server.url, name, small);

  // The same blob again, chunked this time.
  await pushChunked(server.url, name, seed, BLOB_SIZE, digest);
  const head2 = await send(server.url, `/v2/${name}/blobs/${digest}`, { method: 'HEAD' });
  assert.equal(head2.status, 200);
  assert.equal(head2.headers['content-length'], String(BLOB_SIZE));
  const got = await hashBlob(server.url, name, digest);
  assert.equal(got.status, 200);
  assert.equal(got.size, BLOB_SIZE);
  assert.equal(got.digest, digest, 'GET returns content hashing to the digest');
  assert.deepEqual(scanBlobs(dataDir).bad, []);
});

test('SIGKILL during a chunked upload: after restart the client resumes (or restarts) the session and the blob verifies', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir(t, 'portcullis-crash-');
  const seed = 'crash-chunked';
  const digest = digestOfBlob(seed, BLOB_SIZE);
  const name = 'crash/chunked';
  const first = 64 * MiB;

  let server = await startChild(t, dataDir);
  await createProject(server.url, 'crash');
  const small = await pushSmallBlobs(server.url, name);

  let location = await startSession(server.url, name);
  const id = location.split('/').at(-1)!;
  location = await patch(server.url, location, seed, 0, first);

  // The second PATCH carries the rest; the server dies once ~20 MB of it are staged.
  const stagedFile = join(dataDir, 'storage', 'uploads', id);
  let killedAt = 0;
  const second = patch(server.url, location, seed, first, BLOB_SIZE, async (sent) => {
    if (killedAt > 0 || sent < 24 * MiB) return;
    await waitFor('the server to stage 20 MB of the second chunk', () => existsSync(stagedFile) && statSync(stagedFile).size >= first + 20 * MiB);
    killedAt = first + sent;
    await server.kill();
  });
  await assert.rejects(second, 'the PATCH is cut off by the crash');
  await server.kill();
  assert.equal(server.process.signalCode, 'SIGKILL');
  assert.ok(killedAt > first && killedAt < BLOB_SIZE, `killed after ${killedAt} bytes`);

  server = await startChild(t, dataDir, server.port);
  assert.equal((await send(server.url, `/v2/${name}/blobs/${digest}`, { method: 'HEAD' })).status, 404, 'the blob is not there yet');
  assert.equal(existsSync(blobPath(dataDir, digest)), false);
  assert.deepEqual(scanBlobs(dataDir).bad, []);
  await assertSmallBlobsIntact(server.url, name, small);

  // Ask the session where it stands, as a client resuming would.
  const status = await send(server.url, location, { method: 'GET' });
  if (status.status === 204) {
    const range = /^0-(\d+)$/.exec(header(status, 'range'));
    assert.ok(range, `Range header: ${header(status, 'range')}`);
    const have = Number(range[1]) + 1;
    assert.ok(have >= first && have <= BLOB_SIZE, `the session reports ${have} bytes`);
    t.diagnostic(`session survived the crash with ${(have / MiB).toFixed(1)} MiB; resuming from there`);
    location = header(status, 'location');
    if (have < BLOB_SIZE) location = await patch(server.url, location, seed, have, BLOB_SIZE);
    const done = await finish(server.url, location, digest);
    assert.equal(done.status, 201, done.body.toString('utf8'));
  } else {
    assert.equal(status.status, 404, `upload status after restart: ${status.status} ${status.body.toString('utf8')}`);
    assert.match(status.body.toString('utf8'), /BLOB_UPLOAD_UNKNOWN/);
    t.diagnostic('session unknown after the crash; pushing again from the start');
    await pushChunked(server.url, name, seed, BLOB_SIZE, digest);
  }

  const got = await hashBlob(server.url, name, digest);
  assert.equal(got.status, 200);
  assert.equal(got.size, BLOB_SIZE);
  assert.equal(got.digest, digest, 'GET returns content hashing to the digest');
  assert.deepEqual(scanBlobs(dataDir).bad, []);
});

test('temporary files a crash leaves behind are reclaimed by garbage collection', { timeout: 60_000 }, async (t) => {
  const dataDir = tempDir(t, 'portcullis-crash-');
  const size = 40 * MiB;
  const seed = 'crash-gc';
  const digest = digestOfBlob(seed, size);
  const name = 'crash/gc';
  // Abandoned uploads older than a second are fair game for this registry's GC.
  const env = { PORTCULLIS_UPLOAD_TTL: '1s' };
  const tmpDir = join(dataDir, 'storage', 'tmp');
  const uploadsDir = join(dataDir, 'storage', 'uploads');

  let server = await startChild(t, dataDir, undefined, env);
  await createProject(server.url, 'crash');
  // A chunked session that is simply abandoned, and a monolithic upload cut off by the crash.
  const abandoned = await startSession(server.url, name);
  await patch(server.url, abandoned, seed, 0, 5 * MiB);
  let killed = false;
  const upload = send(server.url, `/v2/${name}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': size },
    body: blobChunks(seed, size),
    onSent: async (sent) => {
      if (killed || sent < 20 * MiB) return;
      await waitFor('the server to stage 10 MB', () => largestFile(tmpDir, 'put-') >= 10 * MiB);
      killed = true;
      await server.kill();
    },
  });
  await assert.rejects(upload);
  await server.kill();
  assert.ok(readdirSync(tmpDir).length > 0, 'fixture: the crash left a partial file in storage/tmp');
  assert.ok(readdirSync(uploadsDir).length > 0, 'fixture: the abandoned session has staged data');

  server = await startChild(t, dataDir, server.port, env);
  await sleep(1_500);
  const gc = await send(server.url, '/api/v1/system/gc', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: [Buffer.from('{}')] });
  assert.equal(gc.status, 200, gc.body.toString('utf8'));
  t.diagnostic(`gc report: ${gc.body.toString('utf8').slice(0, 300)}`);
  assert.deepEqual(readdirSync(uploadsDir), [], 'the abandoned session is swept');
  assert.deepEqual(
    readdirSync(tmpDir).map((f) => `${f} (${statSync(join(tmpDir, f)).size} bytes)`),
    [],
    'the partial file of the upload the crash interrupted is swept from storage/tmp',
  );
});

test('a job held by a replica killed mid-scan runs again as soon as it restarts, not when its lease lapses', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir(t, 'portcullis-crash-');
  // The lease (60 s) outlasts the wait below: only the restart's release hands the job back in time.
  const env = { PORTCULLIS_SCAN: 'true', PORTCULLIS_SBOM: 'false' };
  let server = await startChild(t, dataDir, undefined, env);
  await createProject(server.url, 'crash');
  const admin = { url: server.url, auth: AUTH };
  await pushLayeredImage(admin, 'crash/bomb', '1', [[{ type: 'file', path: 'app/app.jar', data: jarBomb(60) }]]);
  const scanPath = `${artifactPath('crash/bomb', '1')}/scan`;
  await waitFor('the scan to run', async () => {
    const res = await send(server.url, scanPath, { method: 'GET' });
    return res.status === 202 && (JSON.parse(res.body.toString('utf8')) as { job?: string }).job === 'running';
  });
  await server.kill();

  server = await startChild(t, dataDir, server.port, env);
  const restarted = Date.now();
  const status = await scanStatus(server.url, 'crash/bomb', '1', AUTH, 50_000);
  assert.equal(status.status, 'done', JSON.stringify(status));
  t.diagnostic(`scanned ${((Date.now() - restarted) / 1000).toFixed(1)} s after the restart (the lease is 60 s)`);
  assert.match(server.output(), /jobs this replica was running when it stopped are queued again/);
});
