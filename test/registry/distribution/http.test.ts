import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { OCI_ERROR_STATUS, OciError, isOciErrorCode } from '../../../src/oci/index.js';
import { StorageError, type StorageErrorCode } from '../../../src/storage/index.js';
import { parseContentRange, parseRangeHeader, readBody, toWireError } from '../../../src/registry/distribution/http.js';

describe('parseRangeHeader', () => {
  const SIZE = 1000;
  const table: [string | undefined, number, ReturnType<typeof parseRangeHeader>][] = [
    [undefined, SIZE, undefined],
    ['bytes=0-99', SIZE, { start: 0, end: 99 }],
    ['bytes=0-0', SIZE, { start: 0, end: 0 }],
    ['bytes=100-199', SIZE, { start: 100, end: 199 }],
    ['bytes=999-999', SIZE, { start: 999, end: 999 }],
    ['bytes=0-999', SIZE, { start: 0, end: 999 }],
    ['bytes=500-', SIZE, { start: 500, end: 999 }],
    ['bytes=0-', SIZE, { start: 0, end: 999 }],
    ['bytes=-100', SIZE, { start: 900, end: 999 }],
    ['bytes=-1', SIZE, { start: 999, end: 999 }],
    ['bytes=-1000', SIZE, { start: 0, end: 999 }],
    ['bytes=-5000', SIZE, { start: 0, end: 999 }],
    ['bytes=900-5000', SIZE, { start: 900, end: 999 }],
    ['bytes=0-99999999999999999999', SIZE, { start: 0, end: 999 }],
    [' bytes=0-99 ', SIZE, { start: 0, end: 99 }],
    // unsatisfiable (416)
    ['bytes=1000-', SIZE, 'unsatisfiable'],
    ['bytes=1000-1001', SIZE, 'unsatisfiable'],
    ['bytes=5000-6000', SIZE, 'unsatisfiable'],
    ['bytes=-0', SIZE, 'unsatisfiable'],
    ['bytes=0-', 0, 'unsatisfiable'],
    ['bytes=-5', 0, 'unsatisfiable'],
    ['bytes=99999999999999999999-', SIZE, 'unsatisfiable'],
    // not a single byte range we serve partially: undefined (serve the whole blob)
    ['bytes=0-99,200-299', SIZE, undefined],
    ['bytes=0-99, 200-299', SIZE, undefined],
    ['bytes=-', SIZE, undefined],
    ['bytes=', SIZE, undefined],
    ['bytes', SIZE, undefined],
    ['items=0-99', SIZE, undefined],
    ['bytes 0-99', SIZE, undefined],
    ['bytes=a-b', SIZE, undefined],
    ['bytes=-1-2', SIZE, undefined],
    ['bytes=1.5-2', SIZE, undefined],
    ['', SIZE, undefined],
    ['0-99', SIZE, undefined],
  ];
  for (const [header, size, expected] of table) {
    test(`${JSON.stringify(header)} of ${size} bytes → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseRangeHeader(header, size), expected);
    });
  }

  test('a range whose last byte is before its first is not served', () => {
    // RFC 9110 §14.1.1: such a byte-range-spec is invalid; it must not produce a partial response.
    const r = parseRangeHeader('bytes=500-100', 1000);
    assert.ok(r === 'unsatisfiable' || r === undefined, JSON.stringify(r));
  });

  test('every satisfiable answer lies inside the blob', () => {
    for (const size of [1, 2, 10, 1000]) {
      for (const header of ['bytes=0-', 'bytes=-1', `bytes=-${size + 1}`, `bytes=${size - 1}-`, `bytes=0-${size * 2}`, `bytes=${Math.floor(size / 2)}-${size}`]) {
        const r = parseRangeHeader(header, size);
        assert.ok(typeof r === 'object', `${header} of ${size}`);
        assert.ok(r.start >= 0 && r.start <= r.end && r.end <= size - 1, `${header} of ${size} → ${JSON.stringify(r)}`);
      }
    }
  });
});

describe('parseContentRange', () => {
  const table: [string | undefined, ReturnType<typeof parseContentRange>][] = [
    [undefined, undefined],
    ['0-99', { start: 0, end: 99 }],
    ['100-199', { start: 100, end: 199 }],
    ['0-0', { start: 0, end: 0 }],
    ['5-5', { start: 5, end: 5 }],
    ['bytes 0-99/100', { start: 0, end: 99 }],
    ['bytes 0-99/*', { start: 0, end: 99 }],
    ['bytes=0-99', { start: 0, end: 99 }],
    ['0-99/100', { start: 0, end: 99 }],
    [' 0-99 ', { start: 0, end: 99 }],
    ['99-0', 'invalid'],
    ['10-9', 'invalid'],
    ['', 'invalid'],
    ['junk', 'invalid'],
    ['-99', 'invalid'],
    ['0-', 'invalid'],
    ['bytes */100', 'invalid'],
    ['bytes 0-99/', 'invalid'],
    ['bytes:0-99', 'invalid'],
    ['0-99-199', 'invalid'],
    ['a-b', 'invalid'],
    ['0x0-0x10', 'invalid'],
    ['99999999999999999999-99999999999999999999', 'invalid'],
  ];
  for (const [header, expected] of table) {
    test(`${JSON.stringify(header)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseContentRange(header), expected);
    });
  }
});

describe('toWireError', () => {
  test('an OciError keeps its code, status, message, detail and headers', () => {
    const err = new OciError('UNAUTHORIZED', 'authentication required', { detail: { realm: 'x' }, headers: { 'WWW-Authenticate': 'Bearer realm="x"' } });
    const w = toWireError(err);
    assert.equal(w.status, 401);
    assert.equal(w.internal, false);
    assert.deepEqual(w.errors, [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: { realm: 'x' } }]);
    assert.deepEqual(w.headers, { 'WWW-Authenticate': 'Bearer realm="x"' });
  });

  test('an OciError status override wins over the code\'s default', () => {
    const w = toWireError(new OciError('MANIFEST_INVALID', 'too big', { status: 413 }));
    assert.equal(w.status, 413);
    assert.equal(w.errors[0]?.code, 'MANIFEST_INVALID');
  });

  test('no detail key when there is no detail', () => {
    const w = toWireError(new OciError('BLOB_UNKNOWN', 'no such blob'));
    assert.deepEqual(w.errors, [{ code: 'BLOB_UNKNOWN', message: 'no such blob' }]);
    assert.equal(Object.hasOwn(w.errors[0]!, 'detail'), false);
  });

  test('related errors follow the main one, in order', () => {
    const related = [
      new OciError('MANIFEST_BLOB_UNKNOWN', 'blob 1 unknown', { detail: { digest: 'sha256:1' } }),
      new OciError('MANIFEST_BLOB_UNKNOWN', 'blob 2 unknown', { detail: { digest: 'sha256:2' } }),
      new OciError('MANIFEST_BLOB_UNKNOWN', 'blob 3 unknown', { detail: { digest: 'sha256:3' } }),
    ];
    const w = toWireError(new OciError('MANIFEST_BLOB_UNKNOWN', 'blob 0 unknown', { detail: { digest: 'sha256:0' }, related }));
    assert.equal(w.status, 400);
    assert.deepEqual(
      w.errors.map((e) => [e.code, e.message, e.detail]),
      [0, 1, 2, 3].map((i) => ['MANIFEST_BLOB_UNKNOWN', `blob ${i} unknown`, { digest: `sha256:${i}` }]),
    );
  });

  const storageTable: [StorageErrorCode, string, number][] = [
    ['DIGEST_MISMATCH', 'DIGEST_INVALID', 400],
    ['SIZE_MISMATCH', 'SIZE_INVALID', 400],
    ['UPLOAD_UNKNOWN', 'BLOB_UPLOAD_UNKNOWN', 404],
    ['NOT_FOUND', 'NAME_UNKNOWN', 404],
  ];
  for (const [storageCode, ociCode, status] of storageTable) {
    test(`StorageError ${storageCode} → ${ociCode} ${status}`, () => {
      const w = toWireError(new StorageError(storageCode, `storage says ${storageCode}`));
      assert.equal(w.status, status);
      assert.equal(w.internal, false);
      assert.equal(w.errors.length, 1);
      assert.equal(w.errors[0]?.code, ociCode);
      assert.equal(w.errors[0]?.message, `storage says ${storageCode}`);
      assert.equal(OCI_ERROR_STATUS[w.errors[0]!.code], status, 'the status is the code\'s own');
    });
  }

  test('DIGEST_MISMATCH and SIZE_MISMATCH carry their detail (a copy)', () => {
    const detail = { expected: 'sha256:a', actual: 'sha256:b' };
    const err = new StorageError('DIGEST_MISMATCH', 'mismatch', { detail });
    const w = toWireError(err);
    assert.deepEqual(w.errors[0]?.detail, detail);
    assert.notEqual(w.errors[0]?.detail, detail);
    assert.deepEqual(toWireError(new StorageError('SIZE_MISMATCH', 'short', { detail: { size: 3 } })).errors[0]?.detail, { size: 3 });
  });

  const internal: [string, unknown][] = [
    ['a plain Error', new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'digest')")],
    ['StorageError UNAVAILABLE', new StorageError('UNAVAILABLE', 'postgres://admin:hunter2@db/reg is down')],
    ['StorageError CONFLICT', new StorageError('CONFLICT', 'duplicate key value violates unique constraint "users_pkey" hunter2')],
    ['StorageError SCHEMA_TOO_NEW', new StorageError('SCHEMA_TOO_NEW', 'schema 99 hunter2')],
    ['StorageError OFFSET_MISMATCH (handlers translate it themselves)', new StorageError('OFFSET_MISMATCH', 'offset hunter2')],
    ['a thrown string', 'hunter2'],
    ['undefined', undefined],
    ['null', null],
    ['an object', { message: 'hunter2', code: 'DIGEST_INVALID', status: 400 }],
  ];
  for (const [why, err] of internal) {
    test(`${why} → 500 that leaks nothing`, () => {
      const w = toWireError(err);
      assert.equal(w.status, 500);
      assert.equal(w.internal, true);
      assert.deepEqual(w.headers, {});
      assert.equal(w.errors.length, 1);
      assert.ok(isOciErrorCode(w.errors[0]!.code), 'a code the spec defines');
      const body = JSON.stringify(w.errors);
      for (const secret of ['hunter2', 'ECONNREFUSED', '10.0.0.5', 'postgres://', 'users_pkey', 'Cannot read']) assert.ok(!body.includes(secret), `${secret} leaked: ${body}`);
      assert.equal(Object.hasOwn(w.errors[0]!, 'detail'), false);
    });
  }
});

describe('readBody', () => {
  function request(chunks: Buffer[], contentLength?: number): IncomingMessage {
    const r = Readable.from(chunks) as unknown as IncomingMessage;
    (r as { headers: Record<string, string> }).headers = contentLength === undefined ? {} : { 'content-length': String(contentLength) };
    return r;
  }
  const tooLarge = () => new OciError('MANIFEST_INVALID', 'too large', { status: 413 });

  test('reads all chunks up to the limit', async () => {
    const body = await readBody(request([Buffer.from('abc'), Buffer.from('def')], 6), 6, tooLarge);
    assert.equal(body.toString(), 'abcdef');
  });

  test('a declared length above the limit fails before reading', async () => {
    await assert.rejects(readBody(request([Buffer.from('x')], 100), 10, tooLarge), (e: unknown) => e instanceof OciError && e.status === 413);
  });

  test('a body that grows past the limit without a declared length fails', async () => {
    await assert.rejects(readBody(request([Buffer.alloc(6), Buffer.alloc(6)]), 10, tooLarge), (e: unknown) => e instanceof OciError && e.status === 413);
  });

  test('a body that lies about its length (declared small, sent large) fails', async () => {
    await assert.rejects(readBody(request([Buffer.alloc(8), Buffer.alloc(8)], 5), 10, tooLarge), (e: unknown) => e instanceof OciError && e.status === 413);
  });
});
