import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import { digestOf, type Digest } from '../../src/oci/index.js';
import { isCopyableBlob, openFsBlobStorage, StorageError, type ChunkSink, type CopyableBlob, type FsBlobStore, type FsUploadStore, type StorageErrorCode } from '../../src/storage/index.js';
import { tempDir } from '../helpers/env.js';

// ---------------------------------------------------------------- helpers

async function* chunks(...parts: (Uint8Array | string)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    await tick();
    yield typeof p === 'string' ? Buffer.from(p) : p;
  }
}

async function readAll(stream: Readable | undefined): Promise<Buffer> {
  assert.ok(stream, 'expected a stream');
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** Every regular file below `dir`, relative paths. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p).map((x) => join(name, x)));
    else out.push(name);
  }
  return out.sort();
}

async function rejectsWithCode(p: Promise<unknown>, code: StorageErrorCode): Promise<StorageError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof StorageError, `expected a StorageError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}

async function storage(t: TestContext): Promise<{ root: string; blobs: FsBlobStore; uploads: FsUploadStore }> {
  const root = tempDir(t, 'portcullis-fs-');
  return { root, ...(await openFsBlobStorage(root)) };
}

function hexOf(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

// ---------------------------------------------------------------- blob store

describe('FsBlobStore', () => {
  test('put verifies a sha256 digest and stores the content where open/stat find it', async (t) => {
    const { root, blobs } = await storage(t);
    const data = randomBytes(10_000);
    const d = digestOf(data);
    assert.equal(await blobs.stat(d), undefined);
    assert.equal(await blobs.open(d), undefined);
    assert.deepEqual(await blobs.put(d, chunks(data.subarray(0, 3_000), data.subarray(3_000))), { digest: d, size: 10_000 });
    assert.equal(await blobs.stat(d), 10_000);
    assert.ok((await readAll(await blobs.open(d))).equals(data));
    assert.deepEqual(filesUnder(join(root, 'blobs')), [join('sha256', hexOf(d).slice(0, 2), hexOf(d))]);
    assert.deepEqual(filesUnder(join(root, 'tmp')), []);
  });

  test('put verifies a sha512 digest', async (t) => {
    const { blobs } = await storage(t);
    const data = Buffer.from('sha512 content');
    const d = digestOf(data, 'sha512');
    assert.deepEqual(await blobs.put(d, chunks(data)), { digest: d, size: data.byteLength });
    assert.ok((await readAll(await blobs.open(d))).equals(data));
    // The same bytes under sha256 are a different blob.
    assert.equal(await blobs.stat(digestOf(data)), undefined);
    // Content whose sha512 differs is refused even though the algorithm matches.
    await rejectsWithCode(blobs.put(digestOf(Buffer.from('other'), 'sha512'), chunks(data)), 'DIGEST_MISMATCH');
  });

  test('a wrong digest is DIGEST_MISMATCH and leaves nothing in blobs/ or tmp/', async (t) => {
    const { root, blobs } = await storage(t);
    const claimed = digestOf(Buffer.from('what the client said'));
    const err = await rejectsWithCode(blobs.put(claimed, chunks('what', ' was ', 'sent')), 'DIGEST_MISMATCH');
    assert.equal(err.detail?.['digest'], claimed);
    assert.equal(await blobs.stat(claimed), undefined);
    assert.equal(await blobs.stat(digestOf(Buffer.from('what was sent'))), undefined);
    assert.deepEqual(filesUnder(join(root, 'blobs')), []);
    assert.deepEqual(filesUnder(join(root, 'tmp')), []);
  });

  test('a body of another length than declared is SIZE_MISMATCH and leaves nothing behind', async (t) => {
    const { root, blobs } = await storage(t);
    const data = Buffer.from('twelve bytes');
    const d = digestOf(data);
    const short = await rejectsWithCode(blobs.put(d, chunks(data), { expectedSize: 13 }), 'SIZE_MISMATCH');
    assert.deepEqual(short.detail, { size: 12, expected: 13 });
    await rejectsWithCode(blobs.put(d, chunks(data), { expectedSize: 11 }), 'SIZE_MISMATCH');
    assert.equal(await blobs.stat(d), undefined);
    assert.deepEqual(filesUnder(join(root, 'blobs')), []);
    assert.deepEqual(filesUnder(join(root, 'tmp')), []);
    assert.deepEqual(await blobs.put(d, chunks(data), { expectedSize: 12 }), { digest: d, size: 12 });
  });

  test('an empty blob is stored', async (t) => {
    const { blobs } = await storage(t);
    const d = digestOf(new Uint8Array(0));
    assert.deepEqual(await blobs.put(d, chunks()), { digest: d, size: 0 });
    assert.equal(await blobs.stat(d), 0);
    assert.equal((await readAll(await blobs.open(d))).byteLength, 0);
  });

  test('open with a byte range returns exactly those bytes (inclusive end)', async (t) => {
    const { blobs } = await storage(t);
    const data = Buffer.from('0123456789abcdef');
    const d = digestOf(data);
    await blobs.put(d, chunks(data));
    assert.equal((await readAll(await blobs.open(d, { start: 3, end: 7 }))).toString(), '34567');
    assert.equal((await readAll(await blobs.open(d, { start: 0, end: 0 }))).toString(), '0');
    assert.equal((await readAll(await blobs.open(d, { start: 10, end: 15 }))).toString(), 'abcdef');
    assert.equal(await blobs.open(digestOf(Buffer.from('absent')), { start: 0, end: 1 }), undefined);
  });

  describe('copyTo (reused buffers)', () => {
    /** A sink that takes each chunk late, as a slow socket does, copying it only then. */
    function slowSink(delayMs: number): { sink: ChunkSink; received: Buffer[] } {
      const received: Buffer[] = [];
      return {
        received,
        sink: {
          write(chunk, callback) {
            setTimeout(() => {
              received.push(Buffer.from(chunk));
              callback();
            }, delayMs);
            return false;
          },
        },
      };
    }

    async function copyable(blobs: FsBlobStore, d: Digest, range?: { start: number; end: number }): Promise<CopyableBlob> {
      const stream = await blobs.open(d, range);
      assert.ok(stream !== undefined && isCopyableBlob(stream), 'the filesystem store serves copyable streams');
      return stream;
    }

    test('copies every byte even when the sink holds each chunk until later (no buffer reused too early)', async (t) => {
      const { blobs } = await storage(t);
      const data = randomBytes(5 * 1024 * 1024 + 123);
      const d = digestOf(data);
      await blobs.put(d, chunks(data));
      const { sink, received } = slowSink(3);
      const stream = await copyable(blobs, d);
      await stream.copyTo(sink, new AbortController().signal);
      assert.ok(Buffer.concat(received).equals(data));
      assert.ok(received.length >= 3, `expected several chunks, got ${received.length}`);
      assert.ok(stream.destroyed, 'the file is released after the copy');
    });

    test('copies exactly a byte range', async (t) => {
      const { blobs } = await storage(t);
      const data = randomBytes(3 * 1024 * 1024);
      const d = digestOf(data);
      await blobs.put(d, chunks(data));
      const { sink, received } = slowSink(0);
      await (await copyable(blobs, d, { start: 1_000_000, end: 2_500_000 })).copyTo(sink, new AbortController().signal);
      assert.ok(Buffer.concat(received).equals(data.subarray(1_000_000, 2_500_001)));
    });

    test('an empty blob writes nothing', async (t) => {
      const { blobs } = await storage(t);
      const d = digestOf(new Uint8Array(0));
      await blobs.put(d, chunks());
      const { sink, received } = slowSink(0);
      await (await copyable(blobs, d)).copyTo(sink, new AbortController().signal);
      assert.deepEqual(received, []);
    });

    test('an abort while the sink is stuck rejects and releases the file', async (t) => {
      const { blobs } = await storage(t);
      const data = randomBytes(6 * 1024 * 1024);
      const d = digestOf(data);
      await blobs.put(d, chunks(data));
      const stream = await copyable(blobs, d);
      const closed = new Promise((resolve) => stream.once('close', resolve));
      const abort = new AbortController();
      let writes = 0;
      const stuck: ChunkSink = {
        write() {
          writes += 1;
          if (writes === 2) setImmediate(() => abort.abort(new Error('client went away')));
          return false; // never calls back, as a socket that died
        },
      };
      await assert.rejects(stream.copyTo(stuck, abort.signal), /client went away/);
      await closed;
      assert.equal(writes, 2, 'no third chunk is read while both buffers are still held by the sink');
    });

    test('a sink error rejects the copy', async (t) => {
      const { blobs } = await storage(t);
      const data = randomBytes(100);
      const d = digestOf(data);
      await blobs.put(d, chunks(data));
      const failing: ChunkSink = { write: (_chunk, callback) => (setImmediate(() => callback(new Error('EPIPE'))), false) };
      await assert.rejects((await copyable(blobs, d)).copyTo(failing, new AbortController().signal), /EPIPE/);
    });

    test('a stream already being read cannot also be copied', async (t) => {
      const { blobs } = await storage(t);
      const data = randomBytes(100);
      const d = digestOf(data);
      await blobs.put(d, chunks(data));
      const stream = await copyable(blobs, d);
      assert.ok((await readAll(stream)).equals(data));
      await assert.rejects(stream.copyTo(slowSink(0).sink, new AbortController().signal), /already being read/);
    });
  });

  test('an aborted put rejects and leaves nothing behind', async (t) => {
    const { root, blobs } = await storage(t);
    const data = randomBytes(4_096);
    const d = digestOf(data);
    const ac = new AbortController();
    async function* source(): AsyncGenerator<Uint8Array> {
      yield data.subarray(0, 1_000);
      await tick();
      ac.abort(new Error('client went away'));
      yield data.subarray(1_000);
    }
    await assert.rejects(blobs.put(d, source(), { signal: ac.signal }), /client went away/);
    assert.equal(await blobs.stat(d), undefined);
    assert.deepEqual(filesUnder(join(root, 'blobs')), []);
    assert.deepEqual(filesUnder(join(root, 'tmp')), []);
  });

  test('a source that throws leaves nothing behind', async (t) => {
    const { root, blobs } = await storage(t);
    async function* source(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('partial');
      throw new Error('socket reset');
    }
    await assert.rejects(blobs.put(digestOf(Buffer.from('partial!')), source()), /socket reset/);
    assert.deepEqual(filesUnder(join(root, 'tmp')), []);
    assert.deepEqual(filesUnder(join(root, 'blobs')), []);
  });

  test('two concurrent puts of the same content both succeed and the blob is intact', async (t) => {
    const { root, blobs } = await storage(t);
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const d = digestOf(data);
    const parts = (): Uint8Array[] => [data.subarray(0, 1 << 20), data.subarray(1 << 20, 2 << 20), data.subarray(2 << 20)];
    const results = await Promise.all([blobs.put(d, chunks(...parts())), blobs.put(d, chunks(...parts())), blobs.put(d, chunks(...parts()))]);
    for (const r of results) assert.deepEqual(r, { digest: d, size: data.byteLength });
    assert.equal(await blobs.stat(d), data.byteLength);
    assert.ok((await readAll(await blobs.open(d))).equals(data));
    assert.deepEqual(filesUnder(join(root, 'tmp')), []);
  });

  test('delete removes a blob; false when absent', async (t) => {
    const { blobs } = await storage(t);
    const data = Buffer.from('bye');
    const d = digestOf(data);
    await blobs.put(d, chunks(data));
    assert.equal(await blobs.delete(d), true);
    assert.equal(await blobs.delete(d), false);
    assert.equal(await blobs.stat(d), undefined);
  });

  test('list yields placed blobs with their sizes, skipping stray files', async (t) => {
    const { root, blobs, uploads } = await storage(t);
    const contents = [Buffer.from('a'), Buffer.from('bb'), randomBytes(300)];
    const expected = new Map<string, number>();
    for (const c of contents) {
      const d = digestOf(c);
      await blobs.put(d, chunks(c));
      expected.set(d, c.byteLength);
    }
    const big = Buffer.from('sha512 one');
    await blobs.put(digestOf(big, 'sha512'), chunks(big));
    expected.set(digestOf(big, 'sha512'), big.byteLength);
    // Not blobs: a file with a non-digest name, a staged upload, a temp file.
    mkdirSync(join(root, 'blobs', 'sha256', 'zz'), { recursive: true });
    writeFileSync(join(root, 'blobs', 'sha256', 'zz', 'not-a-digest'), 'x');
    writeFileSync(join(root, 'tmp', 'put-leftover'), 'x');
    await uploads.begin('session-000001');

    const listed = new Map<string, number>();
    const before = Date.now();
    for await (const b of blobs.list()) {
      listed.set(b.digest, b.size);
      assert.ok(b.modifiedAt <= before + 1_000);
    }
    assert.deepEqual(listed, expected);
  });
});

// ---------------------------------------------------------------- upload sessions

describe('FsUploadStore', () => {
  test('begin, append chunks at explicit offsets, finish places the blob and drops the staged file', async (t) => {
    const { root, blobs, uploads } = await storage(t);
    const id = 'upload-abcdef01';
    await uploads.begin(id);
    assert.equal(await uploads.size(id), 0);
    assert.equal(await uploads.append(id, 0, chunks('hello, ', 'wor')), 10);
    assert.equal(await uploads.append(id, 10, chunks('ld')), 12);
    assert.equal(await uploads.append(id, undefined, chunks('!')), 13, 'no offset appends at the end');
    assert.equal(await uploads.size(id), 13);
    const d = digestOf(Buffer.from('hello, world!'));
    assert.equal(await blobs.stat(d), undefined, 'staged data is not a blob yet');
    assert.deepEqual(await uploads.finish(id, d), { digest: d, size: 13 });
    assert.equal((await readAll(await blobs.open(d))).toString(), 'hello, world!');
    assert.equal(await uploads.size(id), undefined);
    assert.deepEqual(filesUnder(join(root, 'uploads')), []);
    await rejectsWithCode(uploads.finish(id, d), 'UPLOAD_UNKNOWN');
  });

  test('a chunk at the wrong offset is OFFSET_MISMATCH with the staged size, and changes nothing', async (t) => {
    const { uploads } = await storage(t);
    const id = 'upload-offsets1';
    await uploads.begin(id);
    await uploads.append(id, 0, chunks('12345'));
    const ahead = await rejectsWithCode(uploads.append(id, 7, chunks('xx')), 'OFFSET_MISMATCH');
    assert.equal(ahead.detail?.['size'], 5);
    const behind = await rejectsWithCode(uploads.append(id, 0, chunks('xx')), 'OFFSET_MISMATCH');
    assert.equal(behind.detail?.['size'], 5);
    assert.equal(await uploads.size(id), 5);
    assert.equal(await uploads.append(id, 5, chunks('678')), 8);
    const d = digestOf(Buffer.from('12345678'));
    assert.deepEqual(await uploads.finish(id, d), { digest: d, size: 8 });
  });

  test('finish with a wrong digest is DIGEST_MISMATCH: no blob, staged data dropped', async (t) => {
    const { root, blobs, uploads } = await storage(t);
    const id = 'upload-wrongdg1';
    await uploads.begin(id);
    await uploads.append(id, 0, chunks('actual content'));
    const wrong = digestOf(Buffer.from('claimed content'));
    await rejectsWithCode(uploads.finish(id, wrong), 'DIGEST_MISMATCH');
    assert.equal(await blobs.stat(wrong), undefined);
    assert.equal(await blobs.stat(digestOf(Buffer.from('actual content'))), undefined);
    assert.deepEqual(filesUnder(join(root, 'blobs')), []);
    assert.equal(await uploads.size(id), undefined);
  });

  test('finish after a restart (new store, no in-memory hash) verifies the staged file', async (t) => {
    const { root, uploads } = await storage(t);
    const good = 'upload-restart1';
    const bad = 'upload-restart2';
    const part1 = randomBytes(70_000);
    const part2 = randomBytes(50_000);
    for (const id of [good, bad]) {
      await uploads.begin(id);
      await uploads.append(id, 0, chunks(part1));
    }

    // The process restarts: a new store on the same root knows nothing of the sessions' hashes.
    const after = await openFsBlobStorage(root);
    assert.equal(await after.uploads.size(good), part1.byteLength);
    assert.equal(await after.uploads.append(good, part1.byteLength, chunks(part2)), part1.byteLength + part2.byteLength);
    const whole = Buffer.concat([part1, part2]);
    const d = digestOf(whole);
    assert.deepEqual(await after.uploads.finish(good, d), { digest: d, size: whole.byteLength });
    assert.ok((await readAll(await after.blobs.open(d))).equals(whole));

    await after.uploads.append(bad, undefined, chunks(part2.subarray(1)));
    await rejectsWithCode(after.uploads.finish(bad, d), 'DIGEST_MISMATCH');
    assert.equal(await after.uploads.size(bad), undefined);
  });

  test('the old store’s hash goes stale when another store appended in between', async (t) => {
    const { root, uploads } = await storage(t);
    const id = 'upload-replica1';
    await uploads.begin(id);
    await uploads.append(id, 0, chunks('first-'));
    // Another replica on the same root takes the next chunk.
    const other = await openFsBlobStorage(root);
    await other.uploads.append(id, 6, chunks('second-'));
    // Back on the first store, which still holds a running hash of 'first-' only.
    await uploads.append(id, 13, chunks('third'));
    const d = digestOf(Buffer.from('first-second-third'));
    assert.deepEqual(await uploads.finish(id, d), { digest: d, size: 18 });
  });

  test('finish with a sha512 digest re-hashes the staged data', async (t) => {
    const { blobs, uploads } = await storage(t);
    const id = 'upload-sha512-1';
    await uploads.begin(id);
    await uploads.append(id, 0, chunks('sha', '512'));
    const d = digestOf(Buffer.from('sha512'), 'sha512');
    assert.deepEqual(await uploads.finish(id, d), { digest: d, size: 6 });
    assert.equal(await blobs.stat(d), 6);
  });

  test('an aborted append leaves the session usable; finish verifies what is on disk', async (t) => {
    const { uploads } = await storage(t);
    const id = 'upload-aborted1';
    await uploads.begin(id);
    await uploads.append(id, 0, chunks('abc'));
    const ac = new AbortController();
    async function* source(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('never-');
      ac.abort(new Error('gone'));
      yield Buffer.from('written');
    }
    await assert.rejects(uploads.append(id, 3, source(), { signal: ac.signal }), /gone/);
    const size = await uploads.size(id);
    assert.ok(size !== undefined);
    // Resume from wherever the file really ends; the result must hash to its real content.
    const staged = size === 3 ? 'abc' : 'abcnever-';
    assert.equal(await uploads.append(id, size, chunks('def')), size + 3);
    const d = digestOf(Buffer.from(`${staged}def`));
    assert.deepEqual(await uploads.finish(id, d), { digest: d, size: size + 3 });
  });

  test('concurrent appends on one session serialize: bytes never interleave', async (t) => {
    const { blobs, uploads } = await storage(t);
    const id = 'upload-concur01';
    await uploads.begin(id);
    const MiB = 1 << 20; // each chunk fills a write batch, so unserialized appends would interleave
    const a = Buffer.alloc(MiB, 'a');
    const b = Buffer.alloc(MiB, 'b');
    const [na, nb] = await Promise.all([uploads.append(id, undefined, chunks(a, a, a)), uploads.append(id, undefined, chunks(b, b, b))]);
    assert.deepEqual(sortedPair(na, nb), [3 * MiB, 6 * MiB]);
    const aFirst = Buffer.concat([a, a, a, b, b, b]);
    const bFirst = Buffer.concat([b, b, b, a, a, a]);
    const expected = na < nb ? aFirst : bFirst;
    const stored = await uploads.finish(id, digestOf(expected));
    assert.equal(stored.size, 6 * MiB);
    assert.ok((await readAll(await blobs.open(stored.digest))).equals(expected));
  });

  test('two appends at the same offset: one wins, the other is OFFSET_MISMATCH', async (t) => {
    const { root, uploads } = await storage(t);
    const id = 'upload-sameoff1';
    await uploads.begin(id);
    const results = await Promise.allSettled([uploads.append(id, 0, chunks('one', 'one')), uploads.append(id, 0, chunks('two', 'two'))]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 1);
    assert.equal(failed.length, 1);
    assert.ok(failed[0]!.reason instanceof StorageError && failed[0]!.reason.code === 'OFFSET_MISMATCH', String(failed[0]!.reason));
    assert.equal((failed[0]!.reason as StorageError).detail?.['size'], 6);
    assert.match(readFileSync(join(root, 'uploads', id), 'utf8'), /^(oneone|twotwo)$/);
  });

  test('unknown and malformed sessions are UPLOAD_UNKNOWN; abort drops staged data', async (t) => {
    const { root, uploads } = await storage(t);
    const d = digestOf(Buffer.from('x'));
    await rejectsWithCode(uploads.append('upload-missing1', 0, chunks('x')), 'UPLOAD_UNKNOWN');
    await rejectsWithCode(uploads.finish('upload-missing1', d), 'UPLOAD_UNKNOWN');
    assert.equal(await uploads.size('upload-missing1'), undefined);
    await rejectsWithCode(uploads.append('../../etc/passwd', 0, chunks('x')), 'UPLOAD_UNKNOWN');
    await rejectsWithCode(uploads.begin('short'), 'UPLOAD_UNKNOWN');

    const id = 'upload-abort001';
    await uploads.begin(id);
    await uploads.append(id, 0, chunks('data'));
    await uploads.abort(id);
    assert.equal(await uploads.size(id), undefined);
    await uploads.abort(id); // a no-op the second time
    await rejectsWithCode(uploads.append(id, 0, chunks('x')), 'UPLOAD_UNKNOWN');
    assert.deepEqual(filesUnder(join(root, 'uploads')), []);
  });

  test('list yields staged sessions', async (t) => {
    const { uploads } = await storage(t);
    await uploads.begin('upload-list0001');
    await uploads.begin('upload-list0002');
    await uploads.abort('upload-list0002');
    const ids: string[] = [];
    for await (const s of uploads.list()) ids.push(s.id);
    assert.deepEqual(ids, ['upload-list0001']);
  });
});

function sortedPair(x: number, y: number): [number, number] {
  return x < y ? [x, y] : [y, x];
}

describe('FsBlobStore staging sweep', () => {
  test('removes staging files a dead write left, keeps fresh ones and blobs', async (t) => {
    const { root, blobs } = await storage(t);
    const content = randomBytes(1000);
    const d = digestOf(content);
    await blobs.put(d, (async function* () { yield content; })());
    const stale = join(root, 'tmp', 'put-stale');
    const fresh = join(root, 'tmp', 'put-fresh');
    writeFileSync(stale, 'half a blob');
    writeFileSync(fresh, 'a write in progress');
    const { utimesSync } = await import('node:fs');
    utimesSync(stale, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    assert.equal(await blobs.sweepStaging(Date.now() - 60_000), 1);
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(fresh), true);
    assert.equal(await blobs.stat(d), 1000);
  });
});
