/**
 * layer.ts: decompression told by magic bytes (gzip from the gzip CLI, multi-member gzip, zstd
 * from the zstd CLI, plain), errors for corrupt streams, path normalization inside the image
 * root, and walkLayer's whiteouts, opaque directories, hard link targets and escaping names.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { compressionOf, decompressed, ImageError, normalizePath, walkLayer, type LayerEntry } from '../../src/image/index.js';
import { requireTools, tempDir } from '../helpers/env.js';
import { CHUNKINGS, chunked, chunkingName, drain, END, fileEntry, rejection, runOk, tarHeader, type Chunking } from './helpers.js';

/** Compressible but not trivial content of `n` bytes. */
function sample(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = (x >>> 24) % 16 === 0 ? x & 0xff : 0x61 + (i % 7);
  }
  return b;
}

async function cli(t: TestContext, tool: string, args: string[], input: Buffer): Promise<Buffer> {
  const dir = tempDir(t);
  const file = join(dir, 'in');
  writeFileSync(file, input);
  const r = await runOk(tool, [...args, '-c', file]);
  return r.stdout;
}

/** Decompresses `blob` fed in `chunking`; for tiny chunkings only the small inputs. */
async function inflate(blob: Buffer, chunking: Chunking): Promise<Buffer> {
  return drain(decompressed(chunked(blob, chunking)));
}

const SOME_CHUNKINGS: readonly Chunking[] = [1, 3, 511, 65536, 'random'];

describe('compressionOf', () => {
  test('magic bytes: gzip, zstd, anything else is none (short heads too)', () => {
    assert.equal(compressionOf(Buffer.from([0x1f, 0x8b, 0x08, 0x00])), 'gzip');
    assert.equal(compressionOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00])), 'zstd');
    assert.equal(compressionOf(Buffer.from('ustar')), 'none');
    assert.equal(compressionOf(Buffer.from([0x28, 0xb5, 0x2f])), 'none');
    assert.equal(compressionOf(Buffer.from([0x1f])), 'none');
    assert.equal(compressionOf(new Uint8Array(0)), 'none');
  });
});

describe('decompressed', () => {
  test('plain input passes through unchanged in every chunking, including heads shorter than the magic', async () => {
    const data = sample(5000);
    for (const c of CHUNKINGS) assert.ok((await inflate(data, c)).equals(data), chunkingName(c));
    assert.equal((await inflate(Buffer.alloc(0), 1)).length, 0, 'empty input');
    assert.deepEqual([...(await inflate(Buffer.from([1, 2, 3]), 1))], [1, 2, 3], 'three bytes, fewer than a magic');
    assert.deepEqual([...(await inflate(Buffer.from([0x1f]), 1))], [0x1f], 'one byte of the gzip magic');
  });

  test('gzip from the gzip CLI, in every chunking of the compressed bytes', async (t) => {
    if (!requireTools(t, 'gzip')) return;
    const data = sample(300_000);
    const gz = await cli(t, 'gzip', ['-9', '-n'], data);
    assert.equal(compressionOf(gz), 'gzip');
    for (const c of SOME_CHUNKINGS) {
      if (c === 1 && gz.length > 40_000) continue;
      assert.ok((await inflate(gz, c)).equals(data), chunkingName(c));
    }
  });

  test('multi-member gzip (members concatenated, as pigz and appended uploads make): one stream', async (t) => {
    if (!requireTools(t, 'gzip')) return;
    const a = sample(70_000, 1);
    const b = sample(50_000, 2);
    const c = Buffer.from('third member\n');
    const blob = Buffer.concat([await cli(t, 'gzip', ['-n'], a), await cli(t, 'gzip', ['-1', '-n'], b), gzipSync(c)]);
    for (const ch of [7, 512, 'random'] as const) assert.ok((await inflate(blob, ch)).equals(Buffer.concat([a, b, c])), chunkingName(ch));
  });

  test('zstd from the zstd CLI: levels, with and without checksum, several frames, a skippable frame at the end', async (t) => {
    if (!requireTools(t, 'zstd')) return;
    const data = sample(400_000);
    for (const args of [['-3', '-q'], ['-19', '-q'], ['-q', '--no-check'], ['-q', '--long=24']]) {
      const z = await cli(t, 'zstd', args, data);
      assert.equal(compressionOf(z), 'zstd');
      for (const c of [3, 511, 65536, 'random'] as const) assert.ok((await inflate(z, c)).equals(data), `zstd ${args.join(' ')} in ${chunkingName(c)}`);
    }
    const second = sample(20_000, 9);
    const frames = Buffer.concat([await cli(t, 'zstd', ['-q'], data), await cli(t, 'zstd', ['-q'], second)]);
    assert.ok((await inflate(frames, 'random')).equals(Buffer.concat([data, second])), 'two frames');
    // zstd:chunked layers end with skippable frames (magic 0x184D2A5?) that hold their TOC.
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18]), Buffer.from([16, 0, 0, 0]), Buffer.alloc(16, 0xee)]);
    assert.ok((await inflate(Buffer.concat([frames, skippable]), 512)).equals(Buffer.concat([data, second])), 'a trailing skippable frame');
  });

  test('a large zstd stream from the CLI (8 MiB, default window) inflates whole', async (t) => {
    if (!requireTools(t, 'zstd')) return;
    const data = Buffer.concat([sample(4 << 20, 3), sample(4 << 20, 4)]);
    const z = await cli(t, 'zstd', ['-q', '-1'], data);
    assert.ok((await inflate(z, 65536)).equals(data));
  });

  test('corrupt or truncated gzip and zstd: LAYER_INVALID', async (t) => {
    if (!requireTools(t, 'gzip', 'zstd')) return;
    const data = sample(200_000);
    const gz = await cli(t, 'gzip', ['-n'], data);
    const z = await cli(t, 'zstd', ['-q'], data);
    const corruptGz = Buffer.from(gz);
    for (let i = 100; i < 140; i++) corruptGz[i] = corruptGz[i]! ^ 0x5a;
    const badCrc = Buffer.from(gz);
    badCrc[badCrc.length - 6] = badCrc[badCrc.length - 6]! ^ 0xff;
    const corruptZ = Buffer.from(z);
    for (let i = 100; i < 140; i++) corruptZ[i] = corruptZ[i]! ^ 0x5a;
    const cases: [string, Buffer][] = [
      ['corrupt gzip', corruptGz],
      ['gzip with a wrong CRC', badCrc],
      ['truncated gzip', gz.subarray(0, gz.length >> 1)],
      ['a gzip header only', gz.subarray(0, 10)],
      ['corrupt zstd', corruptZ],
      ['truncated zstd', z.subarray(0, z.length >> 1)],
    ];
    for (const [label, blob] of cases) {
      const err = await rejection(inflate(blob, 4096));
      assert.ok(err instanceof ImageError, `${label}: ${String(err)}`);
      assert.equal(err.code, 'LAYER_INVALID', `${label}: ${err.message}`);
    }
  });

  test("an error of the blob stream (a digest mismatch at its end) comes through unchanged, whatever the compression", async (t) => {
    if (!requireTools(t, 'zstd')) return;
    const data = sample(50_000);
    const blobs: [string, Buffer][] = [
      ['none', data],
      ['gzip', gzipSync(data)],
      ['zstd', await cli(t, 'zstd', ['-q'], data)],
    ];
    for (const [label, blob] of blobs) {
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield* chunked(blob, 1000);
        throw new ImageError('DIGEST_MISMATCH', 'the blob hashes to something else');
      }
      const err = await rejection(drain(decompressed(failing())));
      assert.ok(err instanceof ImageError, `${label}: ${String(err)}`);
      assert.equal(err.code, 'DIGEST_MISMATCH', label);
    }
  });

  test('a consumer that stops early releases the blob stream', async () => {
    for (const blob of [sample(200_000), gzipSync(sample(2_000_000))]) {
      let closed = false;
      async function* source(): AsyncGenerator<Uint8Array> {
        try {
          yield* chunked(blob, 4096);
        } finally {
          closed = true;
        }
      }
      for await (const chunk of decompressed(source())) {
        assert.ok(chunk.length > 0);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(closed, true, `the source of a ${compressionOf(blob)} blob was closed`);
    }
  });
});

describe('normalizePath', () => {
  const cases: [string, string | undefined][] = [
    ['etc/passwd', 'etc/passwd'],
    ['/etc/passwd', 'etc/passwd'],
    ['./etc/passwd', 'etc/passwd'],
    ['.//etc//passwd', 'etc/passwd'],
    ['etc/ssl/', 'etc/ssl'],
    ['etc/./ssl/./certs', 'etc/ssl/certs'],
    ['usr/lib/../bin/sh', 'usr/bin/sh'],
    ['a/..', ''],
    ['.', ''],
    ['./', ''],
    ['/', ''],
    ['', ''],
    ['...', '...'],
    ['.hidden/..a/a..', '.hidden/..a/a..'],
    ['..', undefined],
    ['../etc/passwd', undefined],
    ['./../etc/passwd', undefined],
    ['/../etc/passwd', undefined],
    ['a/../../etc/passwd', undefined],
    ['a/b/../../..', undefined],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${expected === undefined ? 'outside the root' : JSON.stringify(expected)}`, () => {
      assert.equal(normalizePath(input), expected);
    });
  }
});

describe('walkLayer', () => {
  async function walk(tar: Buffer, chunking: Chunking = 512): Promise<{ seen: LayerEntry[]; skipped: readonly string[]; data: Map<string, string>; endMarker: boolean }> {
    const seen: LayerEntry[] = [];
    const data = new Map<string, string>();
    const r = await walkLayer(chunked(tar, chunking), (e) => {
      seen.push(e);
      if (e.kind !== 'entry' || e.header.type !== 'file') return undefined;
      const parts: Buffer[] = [];
      return { write: (c) => void parts.push(Buffer.from(c)), end: () => void data.set(e.path, Buffer.concat(parts).toString()) };
    });
    return { seen, skipped: r.skipped, data, endMarker: r.endMarker };
  }

  test('whiteouts and opaque directories from a GNU tar of a real tree (gzip CLI compressed)', async (t) => {
    if (!requireTools(t, 'tar', 'gzip')) return;
    const dir = tempDir(t);
    const root = join(dir, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'var', 'lib', 'apt'), { recursive: true });
    writeFileSync(join(root, 'etc', '.wh.motd'), '');
    writeFileSync(join(root, '.wh.toplevel'), '');
    writeFileSync(join(root, 'var', 'lib', '.wh..wh..opq'), '');
    writeFileSync(join(root, 'var', 'lib', 'apt', 'status'), 'Package: x\n');
    writeFileSync(join(root, 'etc', 'hostname'), 'box\n');
    const tgz = join(dir, 'layer.tar.gz');
    await runOk('tar', ['--sort=name', '-czf', tgz, '-C', root, '.']);
    const r = await walk(await drain(decompressed(chunked(readFileSync(tgz), 777))));
    const summary = r.seen.map((e) => (e.kind === 'entry' ? `${e.header.type} ${e.path}` : `${e.kind} ${e.path}`));
    // (the root './' is not an entry)
    assert.deepEqual(summary, ['whiteout toplevel', 'directory etc', 'whiteout etc/motd', 'file etc/hostname', 'directory var', 'directory var/lib', 'opaque var/lib', 'directory var/lib/apt', 'file var/lib/apt/status']);
    assert.equal(r.data.get('var/lib/apt/status'), 'Package: x\n');
    assert.equal(r.data.get('etc/hostname'), 'box\n');
    assert.deepEqual(r.skipped, []);
  });

  test('whiteout names: root opaque, .wh. with no name, .wh.. and .wh... are not whiteouts of anything', async () => {
    const tar = Buffer.concat([
      fileEntry('./.wh..wh..opq', ''),
      fileEntry('a/.wh.', ''),
      fileEntry('a/.wh..', ''),
      fileEntry('a/.wh...', ''),
      fileEntry('a/.wh..hidden', ''),
      END,
    ]);
    const r = await walk(tar);
    assert.deepEqual(
      r.seen.map((e) => `${e.kind} ${e.path}`),
      ['opaque ', 'whiteout a/.hidden'],
    );
  });

  test('names leaving the root are skipped and listed; hard link targets are normalized, or skipped when they leave', async () => {
    const tar = Buffer.concat([
      fileEntry('../evil', 'evil'),
      fileEntry('/../evil2', 'evil'),
      fileEntry('ok/../../evil3', 'evil'),
      fileEntry('./usr/bin/tool', 'tool\n'),
      tarHeader({ name: 'usr/bin/alias', flag: '1', linkname: './usr/lib/../bin/tool' }),
      tarHeader({ name: 'usr/bin/shadow', flag: '1', linkname: '../etc/shadow' }),
      tarHeader({ name: 'usr/bin/rel', flag: '2', linkname: '../../etc/passwd' }),
      fileEntry('../.wh.etc', ''),
      END,
    ]);
    for (const c of [1, 512, 'random'] as const) {
      const r = await walk(tar, c);
      assert.deepEqual(r.skipped, ['../evil', '/../evil2', 'ok/../../evil3', 'usr/bin/shadow', '../.wh.etc'], chunkingName(c));
      assert.deepEqual(
        r.seen.map((e) => (e.kind === 'entry' ? [e.path, e.header.type, e.header.linkname] : [e.kind, e.path])),
        [
          ['usr/bin/tool', 'file', ''],
          ['usr/bin/alias', 'hardlink', 'usr/bin/tool'],
          ['usr/bin/rel', 'symlink', '../../etc/passwd'],
        ],
        'symlink targets stay as stored: they are resolved later, inside the root',
      );
      assert.deepEqual([...r.data], [['usr/bin/tool', 'tool\n']]);
    }
  });

  test('the list of skipped names is capped at 100', async () => {
    const tar = Buffer.concat([...Array.from({ length: 150 }, (_, i) => fileEntry(`../e${i}`, '')), END]);
    const r = await walk(tar);
    assert.equal(r.skipped.length, 100);
    assert.equal(r.seen.length, 0);
  });

  test('a layer without end-of-archive blocks walks fully with endMarker false', async () => {
    const r = await walk(Buffer.concat([fileEntry('a', 'a'), fileEntry('b', 'bb')]));
    assert.equal(r.endMarker, false);
    assert.deepEqual([...r.data], [
      ['a', 'a'],
      ['b', 'bb'],
    ]);
  });
});
