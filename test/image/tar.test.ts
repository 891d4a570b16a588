/**
 * readTar against ground truth: archives written by GNU tar in every format it has (gnu, oldgnu,
 * posix, ustar, v7, with --sparse in every sparse version) and by Python's tarfile, compared to
 * `tar -tv` (names, types, sizes, owners, link targets), to the files' bytes and to the archive's
 * own bytes at each entry's offset; every archive is fed in many chunkings, which must all read
 * the same. Hand-made headers cover what real writers do not produce: corrupt checksums,
 * base-256 fields, truncation, missing end blocks.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, linkSync, writeFileSync, chmodSync, openSync, writeSync, closeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { ImageError, readTar, type TarHeader } from '../../src/image/index.js';
import { requireTools, tempDir } from '../helpers/env.js';
import {
  base256,
  CHUNKINGS,
  chunked,
  chunkingName,
  END,
  fileEntry,
  kindOf,
  padded,
  paxBody,
  paxEntry,
  readAllEntries,
  rejection,
  runOk,
  summary,
  tarHeader,
  tarListing,
  type Chunking,
  type ReadEntry,
} from './helpers.js';

const LONG_NAME = `long/${'a'.repeat(120)}.txt`; // > 100: GNU 'L' or pax path
const DEEP_NAME = `deep/${`${'d'.repeat(50)}/`.repeat(5)}${'f'.repeat(40)}.bin`; // > 255: no ustar split possible
const PREFIX_NAME = `prefix/${'p'.repeat(90)}/${'q'.repeat(60)}.txt`; // > 100, < 255: ustar prefix split
const UNICODE_NAME = 'unicode/café-naïve-文件-😀.txt';
const NAME_100 = 'n'.repeat(100); // fills the name field, no NUL
const LONG_TARGET = `${'t'.repeat(150)}/target`;

/** A tree with every kind of entry the formats disagree on. */
function makeTree(root: string): void {
  const file = (name: string, data: string | Buffer, mode?: number) => {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), data);
    if (mode !== undefined) chmodSync(join(root, name), mode);
  };
  mkdirSync(join(root, 'dir', 'sub'), { recursive: true });
  file('dir/hello.txt', 'hello, tar\n');
  file('empty', '');
  file('block512', Buffer.alloc(512, 0x41));
  file('block1024', Buffer.alloc(1024, 0x42));
  file('odd3000', Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) & 0xff)));
  file('setuid-tool', '#!/bin/sh\n', 0o4755);
  file(LONG_NAME, 'a long name\n');
  file(DEEP_NAME, Buffer.alloc(700, 0x44));
  file(PREFIX_NAME, 'split into prefix and name\n');
  file(UNICODE_NAME, 'unicode name\n');
  file(NAME_100, 'exactly one hundred\n');
  symlinkSync('hello.txt', join(root, 'dir', 'link-rel'));
  symlinkSync('/etc/passwd', join(root, 'abs-link'));
  symlinkSync(LONG_TARGET, join(root, 'long-target-link'));
  linkSync(join(root, 'dir', 'hello.txt'), join(root, 'hard'));
}

async function makeFifo(root: string): Promise<void> {
  await runOk('mkfifo', [join(root, 'fifo')]);
}

const FORMATS = ['gnu', 'oldgnu', 'posix', 'ustar', 'v7'] as const;

/** Reads an archive in every chunking; all must agree (offsets included). Returns the first. */
async function readEveryChunking(archive: Buffer, chunkings: readonly Chunking[] = CHUNKINGS): Promise<{ entries: ReadEntry[]; endMarker: boolean; count: number }> {
  const first = await readAllEntries(chunked(archive, 65536));
  const expected = summary(first);
  // Tiny chunks cost an await each (dear under node:test's async tracking): only for small archives.
  for (const c of chunkings.filter((x) => (x !== 1 || archive.length <= 24 * 1024) && (x !== 7 || archive.length <= 64 * 1024))) {
    const r = await readAllEntries(chunked(archive, c));
    assert.deepEqual(summary(r), expected, `reading in ${chunkingName(c)} gives the same entries`);
    assert.equal(r.count, first.count);
  }
  return first;
}

/** Checks what readTar saw against `tar -tv`, the files on disk and the archive's bytes. */
async function compareWithGnuTar(archiveFile: string, root: string, r: { entries: ReadEntry[] }): Promise<void> {
  const archive = readFileSync(archiveFile);
  const listing = await tarListing(archiveFile);
  assert.deepEqual(
    r.entries.map((e) => e.header.name),
    listing.map((l) => l.name),
    'the same names, in the same order, as tar -tv',
  );
  for (const [i, l] of listing.entries()) {
    const e = r.entries[i]!;
    const h = e.header;
    const what = `${l.name} (${archiveFile.split('/').pop()})`;
    assert.equal(kindOf(h.type), l.kind, `${what}: type`);
    assert.equal(h.uid, l.uid, `${what}: uid`);
    assert.equal(h.gid, l.gid, `${what}: gid`);
    if (l.kind === '-') assert.equal(h.size, l.size, `${what}: size`);
    if (l.kind === 'l' || l.kind === 'h') assert.equal(h.linkname, l.link, `${what}: link target`);
    if (l.kind === '-' && !h.sparse) {
      const onDisk = readFileSync(join(root, l.name));
      assert.ok(e.data !== undefined && e.data.equals(onDisk), `${what}: content equals the file`);
      assert.ok(archive.subarray(h.offset, h.offset + h.size).equals(onDisk), `${what}: the archive holds the content at offset ${h.offset}`);
      assert.equal(h.offset % 512, 0, `${what}: data offsets are block-aligned`);
    }
    assert.equal(e.ends, 1, `${what}: the sink ends exactly once`);
  }
}

describe('readTar on archives written by GNU tar', () => {
  for (const format of FORMATS) {
    test(`--format=${format}: names, types, sizes, owners, links and contents match tar -tv, in every chunking`, async (t) => {
      if (!requireTools(t, 'tar', 'mkfifo')) return;
      const dir = tempDir(t);
      const root = join(dir, 'root');
      makeTree(root);
      await makeFifo(root);
      const file = join(dir, `${format}.tar`);
      // ustar and v7 cannot hold some of the tree: tar skips those with a warning (exit 2).
      const names = ['abs-link', 'block1024', 'block512', 'deep', 'dir', 'empty', 'fifo', 'hard', 'long', 'long-target-link', NAME_100, 'odd3000', 'prefix', 'setuid-tool', 'unicode'];
      await runOk('tar', [`--format=${format}`, '--blocking-factor=1', '--sort=name', '--owner=0', '--group=0', '-C', root, '-cf', file, ...names], { okCodes: [0, 2] });
      const r = await readEveryChunking(readFileSync(file));
      assert.equal(r.endMarker, true, 'GNU tar writes the end-of-archive blocks');
      await compareWithGnuTar(file, root, r);
      const byName = new Map(r.entries.map((e) => [e.header.name, e.header]));
      assert.equal(byName.get('setuid-tool')?.mode, 0o4755, 'setuid bit kept in mode');
      assert.equal(byName.get('dir/hello.txt')?.type, 'file');
      assert.equal(byName.get(NAME_100)?.type, 'file', 'a 100-byte name (no NUL) is read whole');
      if (format === 'gnu' || format === 'oldgnu' || format === 'posix') {
        for (const n of [LONG_NAME, DEEP_NAME, PREFIX_NAME, UNICODE_NAME]) assert.ok(byName.has(n), `${format} holds ${n.slice(0, 30)}...`);
        assert.equal(byName.get('long-target-link')?.linkname, LONG_TARGET, 'a symlink target over 100 bytes');
        assert.equal(byName.get('hard')?.type, 'hardlink');
        assert.equal(byName.get('hard')?.linkname, 'dir/hello.txt');
        assert.equal(byName.get('fifo')?.type, 'fifo');
      }
      if (format === 'ustar') assert.ok(byName.has(PREFIX_NAME), 'ustar splits a 155-byte name into prefix and name');
    });
  }

  test('an appended archive (tar -r) and a file added twice: every member, in order', async (t) => {
    if (!requireTools(t, 'tar')) return;
    const dir = tempDir(t);
    const root = join(dir, 'root');
    mkdirSync(root);
    writeFileSync(join(root, 'a'), 'first a\n');
    const file = join(dir, 'r.tar');
    await runOk('tar', ['-C', root, '-cf', file, 'a']);
    writeFileSync(join(root, 'a'), 'second a, longer\n');
    writeFileSync(join(root, 'b'), 'b\n');
    await runOk('tar', ['-C', root, '-rf', file, 'a', 'b']);
    const r = await readEveryChunking(readFileSync(file));
    assert.deepEqual(
      r.entries.map((e) => [e.header.name, e.data?.toString()]),
      [
        ['a', 'first a\n'],
        ['a', 'second a, longer\n'],
        ['b', 'b\n'],
      ],
    );
  });
});

describe('readTar on sparse files written by GNU tar', () => {
  /** A file with 30 data regions (old GNU needs two extension blocks), then a plain file. */
  function makeSparseTree(root: string): { holes: Buffer } {
    mkdirSync(root, { recursive: true });
    const fd = openSync(join(root, 'holes'), 'w');
    for (let i = 0; i < 30; i++) writeSync(fd, Buffer.from(`X${String(i).padStart(2, '0')}`), 0, 3, i * 65536);
    ftruncateSync(fd, 30 * 65536 + 10);
    closeSync(fd);
    writeFileSync(join(root, 'zz-after.txt'), 'read after the sparse file\n');
    return { holes: readFileSync(join(root, 'holes')) };
  }

  const variants: readonly { label: string; args: string[] }[] = [
    { label: 'gnu (old GNU sparse, extension blocks)', args: ['--format=gnu', '--sparse'] },
    { label: 'posix --sparse-version=0.0', args: ['--format=posix', '--sparse', '--sparse-version=0.0'] },
    { label: 'posix --sparse-version=0.1', args: ['--format=posix', '--sparse', '--sparse-version=0.1'] },
    { label: 'posix --sparse-version=1.0', args: ['--format=posix', '--sparse', '--sparse-version=1.0'] },
  ];
  for (const v of variants) {
    test(`${v.label}: real name and size, flagged sparse, no content offered; the next entry reads`, async (t) => {
      if (!requireTools(t, 'tar')) return;
      const dir = tempDir(t);
      const root = join(dir, 'root');
      const { holes } = makeSparseTree(root);
      const file = join(dir, 'sparse.tar');
      await runOk('tar', [...v.args, '--owner=0', '--group=0', '-C', root, '-cf', file, 'holes', 'zz-after.txt']);
      const r = await readEveryChunking(readFileSync(file), [511, 512, 513, 'random', 'small']);
      const listing = await tarListing(file);
      assert.deepEqual(
        r.entries.map((e) => [e.header.name, e.header.size]),
        listing.map((l) => [l.name, l.size]),
      );
      const sparse = r.entries[0]!;
      assert.equal(sparse.header.name, 'holes');
      assert.equal(sparse.header.size, holes.length);
      assert.equal(sparse.header.sparse, true);
      assert.equal(sparse.data, undefined);
      assert.equal(sparse.ends, 1, 'a sink given for a sparse file is ended at once');
      const after = r.entries[1]!;
      assert.equal(after.header.sparse, false);
      assert.equal(after.data?.toString(), 'read after the sparse file\n');
    });
  }

  test('old GNU sparse with extension blocks: the offset points at the stored data, past the extension blocks', async (t) => {
    if (!requireTools(t, 'tar')) return;
    const dir = tempDir(t);
    const root = join(dir, 'root');
    makeSparseTree(root);
    const file = join(dir, 'sparse.tar');
    await runOk('tar', ['--format=gnu', '--sparse', '-C', root, '-cf', file, 'holes']);
    const archive = readFileSync(file);
    assert.equal(archive[482], 1, 'fixture: the header says extension blocks follow');
    const r = await readAllEntries(chunked(archive, 65536));
    const h = r.entries[0]!.header;
    // The first data region of `holes` starts with "X00"; header + 2 extension blocks = 1536.
    assert.equal(archive.subarray(h.offset, h.offset + 3).toString('latin1'), 'X00', `data at offset ${h.offset}`);
    assert.equal(h.offset, 1536);
  });

  test('a 9 GiB sparse file: size past 8 GiB (base-256 in old GNU, pax in posix)', async (t) => {
    if (!requireTools(t, 'tar')) return;
    const dir = tempDir(t);
    const root = join(dir, 'root');
    mkdirSync(root);
    const size = 9 * 1024 * 1024 * 1024;
    const fd = openSync(join(root, 'huge'), 'w');
    writeSync(fd, Buffer.from('END'), 0, 3, size - 3);
    closeSync(fd);
    writeFileSync(join(root, 'next'), 'next\n');
    for (const format of ['gnu', 'posix']) {
      const file = join(dir, `${format}.tar`);
      await runOk('tar', [`--format=${format}`, '--sparse', '-C', root, '-cf', file, 'huge', 'next']);
      const r = await readEveryChunking(readFileSync(file), [512, 'random', 'small']);
      assert.deepEqual(
        r.entries.map((e) => [e.header.name, e.header.size, e.header.sparse]),
        [
          ['huge', size, true],
          ['next', 5, false],
        ],
        format,
      );
      assert.deepEqual((await tarListing(file)).map((l) => l.size), [size, 5]);
    }
  });
});

describe('readTar on owners that do not fit the octal fields', () => {
  test('uid/gid over 2097151: GNU tar writes base-256 (gnu) or pax uid/gid records (posix); both read as tar -tv shows', async (t) => {
    if (!requireTools(t, 'tar')) return;
    const dir = tempDir(t);
    const root = join(dir, 'root');
    mkdirSync(root);
    writeFileSync(join(root, 'owned'), 'owned by a large uid\n');
    for (const format of ['gnu', 'posix']) {
      const file = join(dir, `${format}.tar`);
      await runOk('tar', [`--format=${format}`, '--owner=:3000000', '--group=:4000000', '-C', root, '-cf', file, 'owned']);
      const listing = await tarListing(file);
      assert.deepEqual([listing[0]!.uid, listing[0]!.gid], [3000000, 4000000], 'fixture');
      const r = await readAllEntries(chunked(readFileSync(file), 512));
      assert.deepEqual([r.entries[0]!.header.uid, r.entries[0]!.header.gid], [3000000, 4000000], `--format=${format}: uid/gid`);
    }
  });
});

describe("readTar on archives written by Python's tarfile", () => {
  /** Writes an archive in `format` with python3 and returns it with python's own view of it. */
  async function pythonTar(t: TestContext, format: 'USTAR_FORMAT' | 'GNU_FORMAT' | 'PAX_FORMAT', globalHeaders: boolean): Promise<{ archive: Buffer; members: { name: string; type: string; size: number; uid: number; gid: number; linkname: string; data: string | null }[] }> {
    const dir = tempDir(t);
    const file = join(dir, 'py.tar');
    const script = `
import tarfile, io, json, sys
fmt = getattr(tarfile, sys.argv[2])
kw = {'pax_headers': {'comment': 'a global header', 'portcullis.test': 'x'}} if sys.argv[3] == '1' else {}
names = ['plain.txt', 'dir/', 'x' * 130 + '.txt', 'p' * 90 + '/' + 'q' * 60, 'caf\\u00e9/\\u6587\\u4ef6.txt', 'big-uid']
with tarfile.open(sys.argv[1], 'w', format=fmt, **kw) as t:
    for i, n in enumerate(names):
        if fmt == tarfile.USTAR_FORMAT and len(n) > 100 and '/' not in n:
            continue
        ti = tarfile.TarInfo(n.rstrip('/'))
        if n.endswith('/'):
            ti.type = tarfile.DIRTYPE
            t.addfile(ti)
            continue
        data = (n * 3).encode('utf-8')[: 100 + i * 300]
        ti.size = len(data)
        if n == 'big-uid':
            if fmt != tarfile.GNU_FORMAT:
                continue
            ti.uid, ti.gid = 5000000, 6000000
        t.addfile(ti, io.BytesIO(data))
    ti = tarfile.TarInfo('sym')
    ti.type = tarfile.SYMTYPE
    ti.linkname = 'plain.txt'
    t.addfile(ti)
    ti = tarfile.TarInfo('hard')
    ti.type = tarfile.LNKTYPE
    ti.linkname = 'plain.txt'
    t.addfile(ti)
out = []
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        kind = 'file' if m.isreg() else 'directory' if m.isdir() else 'symlink' if m.issym() else 'hardlink' if m.islnk() else 'other'
        data = t.extractfile(m).read().hex() if m.isreg() else None
        out.append({'name': m.name, 'type': kind, 'size': m.size if m.isreg() else 0, 'uid': m.uid, 'gid': m.gid, 'linkname': m.linkname, 'data': data})
print(json.dumps(out))
`;
    const r = await runOk('python3', ['-c', script, file, format, globalHeaders ? '1' : '0']);
    return { archive: readFileSync(file), members: JSON.parse(r.stdout.toString('utf8')) };
  }

  for (const [format, global] of [
    ['USTAR_FORMAT', false],
    ['GNU_FORMAT', false],
    ['PAX_FORMAT', false],
    ['PAX_FORMAT', true],
  ] as const) {
    test(`tarfile.${format}${global ? ' with a global pax header' : ''}: what python reads back, in every chunking`, async (t) => {
      if (!requireTools(t, 'python3')) return;
      const { archive, members } = await pythonTar(t, format, global);
      const r = await readEveryChunking(archive);
      // Python reports directory names without the trailing slash and drops it from what we compare.
      assert.deepEqual(
        r.entries.map((e) => ({
          name: e.header.name.replace(/\/$/, ''),
          type: e.header.type,
          size: e.header.type === 'file' ? e.header.size : 0,
          uid: e.header.uid,
          gid: e.header.gid,
          linkname: e.header.linkname,
          data: e.data === undefined ? null : e.data.toString('hex'),
        })),
        members,
      );
    });
  }
});

describe('readTar on hand-made archives', () => {
  test('ustar prefix + name, GNU long name and long link entries, v7 directory by trailing slash', async () => {
    const archive = Buffer.concat([
      tarHeader({ name: 'name.txt', prefix: 'some/prefix', flag: '5', size: 0 }),
      tarHeader({ name: '././@LongLink', flag: 'L', size: 301, magic: 'gnu' }),
      padded(Buffer.from(`${'L'.repeat(300)}\0`)),
      tarHeader({ name: '././@LongLink', flag: 'K', size: 201, magic: 'gnu' }),
      padded(Buffer.from(`${'K'.repeat(200)}\0`)),
      tarHeader({ name: 'truncated-name', flag: '2', magic: 'gnu', linkname: 'truncated-link' }),
      tarHeader({ name: 'old-dir/', flag: '\0', magic: 'v7' }),
      fileEntry('after', 'after\n'),
      END,
    ]);
    const r = await readEveryChunking(archive);
    assert.deepEqual(
      r.entries.map((e) => [e.header.name, e.header.type, e.header.linkname]),
      [
        ['some/prefix/name.txt', 'directory', ''],
        ['L'.repeat(300), 'symlink', 'K'.repeat(200)],
        ['old-dir/', 'directory', ''],
        ['after', 'file', ''],
      ],
    );
    assert.equal(r.entries[3]!.data?.toString(), 'after\n');
  });

  test('pax: path, linkpath and size apply to the next entry only; UTF-8 lengths count bytes; a global header of other keys changes nothing', async () => {
    const content = Buffer.alloc(1500, 0x5a);
    const archive = Buffer.concat([
      paxEntry({ comment: 'hi', 'portcullis.x': 'y' }, 'g'),
      paxEntry({ path: 'päx/ünïcödé-名前.txt', size: String(content.length) }),
      // The header's own size field is wrong on purpose: pax size wins.
      tarHeader({ name: 'ignored', size: 3 }),
      padded(content),
      paxEntry({ linkpath: `${'z'.repeat(200)}/target`, path: 'link' }),
      tarHeader({ name: 'ignored-too', flag: '2', linkname: 'short' }),
      fileEntry('plain', 'plain\n'),
      END,
    ]);
    const r = await readEveryChunking(archive);
    assert.deepEqual(
      r.entries.map((e) => [e.header.name, e.header.type, e.header.size, e.header.linkname]),
      [
        ['päx/ünïcödé-名前.txt', 'file', 1500, ''],
        ['link', 'symlink', 0, `${'z'.repeat(200)}/target`],
        ['plain', 'file', 6, ''],
      ],
    );
    assert.ok(r.entries[0]!.data?.equals(content));
    assert.equal(r.entries[2]!.data?.toString(), 'plain\n');
  });

  test('pax uid and gid records override the header fields', async () => {
    const archive = Buffer.concat([paxEntry({ uid: '5000000', gid: '6000000' }), fileEntry('owned', 'x', { uid: 0, gid: 0 }), END]);
    const r = await readAllEntries(chunked(archive, 512));
    assert.deepEqual([r.entries[0]!.header.uid, r.entries[0]!.header.gid], [5000000, 6000000]);
  });

  test('base-256 numbers: size and uid', async () => {
    const content = Buffer.from('five!');
    const archive = Buffer.concat([
      tarHeader({ name: 'b256', rawSize: base256(BigInt(content.length), 12), rawUid: base256(123456789n, 8), magic: 'gnu' }),
      padded(content),
      END,
    ]);
    const r = await readEveryChunking(archive);
    assert.equal(r.entries[0]!.header.size, 5);
    assert.equal(r.entries[0]!.header.uid, 123456789);
    assert.equal(r.entries[0]!.data?.toString(), 'five!');
  });

  test('a base-256 size of 64 GiB is read exactly (no 8 GiB octal limit)', async () => {
    const big = 64n * 1024n ** 3n;
    const archive = tarHeader({ name: 'huge', rawSize: base256(big, 12), magic: 'gnu', flag: '5' });
    // A directory: header-only whatever its size says, so the archive can stay small.
    const r = await readAllEntries(chunked(Buffer.concat([archive, END]), 512));
    assert.equal(r.entries[0]!.header.type, 'directory');
    const file = await readTar(chunked(Buffer.concat([tarHeader({ name: 'huge', rawSize: base256(big, 12), magic: 'gnu' })]), 512), (h) => {
      assert.equal(h.size, Number(big));
      return undefined;
    }).catch((e: unknown) => e);
    assert.ok(file instanceof ImageError && file.code === 'LAYER_TRUNCATED', 'the data is missing: truncated');
  });

  test('a negative base-256 number and a non-octal field are LAYER_INVALID', async () => {
    const negative = Buffer.concat([tarHeader({ name: 'neg', rawSize: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]) }), END]);
    const e1 = await rejection(readTar(chunked(negative, 512), () => undefined));
    assert.ok(e1 instanceof ImageError);
    assert.equal(e1.code, 'LAYER_INVALID');
    const garbage = tarHeader({ name: 'garbage', size: 5 });
    garbage.write('12x4', 124, 'latin1');
    // Recompute the checksum so only the field is wrong.
    garbage.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of garbage) sum += b;
    garbage.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const e2 = await rejection(readTar(chunked(Buffer.concat([garbage, END]), 512), () => undefined));
    assert.equal(e2.code, 'LAYER_INVALID');
  });

  test('checksums: a wrong one is LAYER_INVALID after the good entries; a signed-sum one (old Sun tar) is accepted', async () => {
    const bad = Buffer.concat([fileEntry('good', 'good\n'), tarHeader({ name: 'bad', size: 0, checksumDelta: 1 }), END]);
    const seen: string[] = [];
    const err = await rejection(readTar(chunked(bad, 100), (h) => void seen.push(h.name)));
    assert.ok(err instanceof ImageError);
    assert.equal(err.code, 'LAYER_INVALID');
    assert.match(err.message, /checksum/);
    assert.deepEqual(seen, ['good']);

    // A name with high-bit bytes: the signed sum differs from the unsigned one.
    const h = tarHeader({ name: 'x', size: 0 });
    Buffer.from([0xc3, 0xa9, 0xc3, 0xa9]).copy(h, 1);
    h.fill(0x20, 148, 156);
    let signed = 0;
    for (const b of h) signed += b > 127 ? b - 256 : b;
    h.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const r = await readAllEntries(chunked(Buffer.concat([h, END]), 512));
    assert.equal(r.entries[0]!.header.name, 'xéé');
  });

  test('random bytes where a header belongs: LAYER_INVALID, not a crash or a hang', async () => {
    const junk = Buffer.alloc(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 2654435761) >>> 24;
    const err = await rejection(readTar(chunked(junk, 512), () => undefined));
    assert.equal(err.code, 'LAYER_INVALID');
  });

  test('a header after a single zero block is LAYER_INVALID', async () => {
    const archive = Buffer.concat([fileEntry('a', 'a'), Buffer.alloc(512), fileEntry('b', 'b'), END]);
    const err = await rejection(readTar(chunked(archive, 512), () => undefined));
    assert.equal(err.code, 'LAYER_INVALID');
  });

  test('anything after the end marker (blocking-factor fill, junk) is ignored', async () => {
    const archive = Buffer.concat([fileEntry('a', 'a'), END, Buffer.alloc(8192), Buffer.from('junk after the end')]);
    const r = await readEveryChunking(archive);
    assert.equal(r.endMarker, true);
    assert.deepEqual(r.entries.map((e) => e.header.name), ['a']);
  });

  test('a pax header larger than 1 MiB and a malformed pax record are LAYER_INVALID', async () => {
    const huge = tarHeader({ name: 'PaxHeaders/x', flag: 'x', size: 2 * 1024 * 1024 });
    const e1 = await rejection(readTar(chunked(Buffer.concat([huge, Buffer.alloc(4096)]), 512), () => undefined));
    assert.equal(e1.code, 'LAYER_INVALID');
    const body = Buffer.from('99 path=short\n');
    const e2 = await rejection(readTar(chunked(Buffer.concat([tarHeader({ name: 'p', flag: 'x', size: body.length }), padded(body), fileEntry('f', 'f'), END]), 512), () => undefined));
    assert.equal(e2.code, 'LAYER_INVALID');
    const body3 = paxBody({ size: 'not-a-number' });
    const e3 = await rejection(readTar(chunked(Buffer.concat([tarHeader({ name: 'p', flag: 'x', size: body3.length }), padded(body3), fileEntry('f', 'f'), END]), 512), () => undefined));
    assert.equal(e3.code, 'LAYER_INVALID');
  });

  test('offsets: the data of each entry starts where the archive holds it, through pax and long-name headers', async () => {
    const a = Buffer.alloc(700, 1);
    const b = Buffer.alloc(10, 2);
    const archive = Buffer.concat([
      fileEntry('a', a),
      paxEntry({ path: 'b-with-pax' }),
      fileEntry('b', b),
      tarHeader({ name: '././@LongLink', flag: 'L', size: 200, magic: 'gnu' }),
      padded(Buffer.alloc(200, 0x63)),
      fileEntry('c', 'ccc', { magic: 'gnu' }),
      END,
    ]);
    const r = await readEveryChunking(archive);
    for (const e of r.entries) assert.ok(archive.subarray(e.header.offset, e.header.offset + e.header.size).equals(e.data!), e.header.name);
    assert.deepEqual(r.entries.map((e) => e.header.offset), [512, 3072, 5120]);
  });
});

describe('readTar on streams that end early', () => {
  const files = [fileEntry('one', 'first file\n'), tarHeader({ name: 'dir/', flag: '5' }), fileEntry('two', Buffer.alloc(1000, 0x32))];
  const body = Buffer.concat(files);

  test('no end-of-archive blocks (older umoci): every entry read, endMarker false, in every chunking', async () => {
    const r = await readEveryChunking(body);
    assert.equal(r.endMarker, false);
    assert.deepEqual(r.entries.map((e) => e.header.name), ['one', 'dir/', 'two']);
    assert.equal(r.entries[2]!.data?.length, 1000);
  });

  test('no padding after the last file and no end blocks: accepted, endMarker false', async () => {
    const unpadded = body.subarray(0, body.length - (512 - (1000 % 512)));
    const r = await readEveryChunking(unpadded);
    assert.equal(r.endMarker, false);
    assert.equal(r.entries[2]!.data?.length, 1000);
    assert.equal(r.entries[2]!.ends, 1);
  });

  test('the stream ends after a header-only entry, or after one zero block', async () => {
    const r1 = await readAllEntries(chunked(Buffer.concat(files.slice(0, 2)), 513));
    assert.equal(r1.endMarker, false);
    assert.deepEqual(r1.entries.map((e) => e.header.name), ['one', 'dir/']);
    const r2 = await readAllEntries(chunked(Buffer.concat([body, Buffer.alloc(512)]), 513));
    assert.equal(r2.endMarker, true, 'one zero block is taken as the end');
  });

  test('an empty stream: no entries, no end marker', async () => {
    const r = await readAllEntries(chunked(Buffer.alloc(0), 512));
    assert.deepEqual([r.count, r.endMarker], [0, false]);
  });

  const cuts: readonly { label: string; archive: () => Buffer }[] = [
    { label: 'inside the data of a file', archive: () => body.subarray(0, 512 * 4 + 300) },
    { label: 'inside a header', archive: () => body.subarray(0, 512 + 512 + 100) },
    { label: 'inside a pax header body', archive: () => Buffer.concat([fileEntry('a', 'a'), paxEntry({ path: 'x'.repeat(600) })]).subarray(0, 1024 + 512 + 300) },
    { label: 'inside a GNU long name', archive: () => Buffer.concat([tarHeader({ name: '././@LongLink', flag: 'L', size: 700, magic: 'gnu' }), Buffer.alloc(600, 0x61)]) },
    {
      label: 'inside old GNU sparse extension blocks',
      archive: () => {
        const h = tarHeader({ name: 'sp', flag: 'S', size: 512, magic: 'gnu' });
        h[482] = 1; // extension blocks follow
        h.fill(0x20, 148, 156);
        let sum = 0;
        for (const b of h) sum += b;
        h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
        return Buffer.concat([h, Buffer.alloc(200)]);
      },
    },
  ];
  for (const cut of cuts) {
    test(`truncated ${cut.label}: LAYER_TRUNCATED, in every chunking; an open sink is aborted, not ended`, async () => {
      const archive = cut.archive();
      for (const c of CHUNKINGS) {
        const ended: string[] = [];
        const aborted: string[] = [];
        const err = await rejection(
          readTar(chunked(archive, c), (h) => ({
            write: () => undefined,
            end: () => void ended.push(h.name),
            abort: () => void aborted.push(h.name),
          })),
        );
        assert.ok(err instanceof ImageError, `${chunkingName(c)}: ${String(err)}`);
        assert.equal(err.code, 'LAYER_TRUNCATED', `${chunkingName(c)}: ${err.message}`);
        if (cut.label === 'inside the data of a file') {
          assert.deepEqual(ended, ['one', 'dir/'], 'complete entries are ended');
          assert.deepEqual(aborted, ['two'], 'the cut file is aborted: its sink must not take it as whole');
        } else {
          assert.deepEqual(aborted, []);
        }
      }
    });
  }
});

describe('readTar on streams that end between a meta header and its entry', () => {
  // The pax header (or GNU long name) is the first part of the next entry: the stream ends inside
  // that entry, which is lost; a complete entry was not the last thing read.
  for (const [label, meta] of [
    ['a pax header', paxEntry({ path: 'the-entry-that-never-came' })],
    ['a GNU long name', Buffer.concat([tarHeader({ name: '././@LongLink', flag: 'L', size: 200, magic: 'gnu' }), padded(Buffer.alloc(200, 0x61))])],
  ] as const) {
    test(`the stream ends right after ${label}: LAYER_TRUNCATED`, async () => {
      const archive = Buffer.concat([fileEntry('a', 'a'), meta]);
      const err = await rejection(readTar(chunked(archive, 512), () => undefined));
      assert.ok(err instanceof ImageError, String(err));
      assert.equal(err.code, 'LAYER_TRUNCATED');
    });
  }
});

describe('readTar on a GNU tar posix archive cut after a pax header', () => {
  test('the pax header holds only keys the reader ignores (mtime, atime, ctime): still LAYER_TRUNCATED', async (t) => {
    if (!requireTools(t, 'tar')) return;
    const dir = tempDir(t);
    const root = join(dir, 'root');
    mkdirSync(root);
    writeFileSync(join(root, 'a'), 'first\n');
    writeFileSync(join(root, 'b'), 'second\n');
    const file = join(dir, 'posix.tar');
    await runOk('tar', ['--format=posix', '--sort=name', '-C', root, '-cf', file, 'a', 'b']);
    const archive = readFileSync(file);
    const full = await readAllEntries(chunked(archive, 512));
    const b = full.entries[1]!.header;
    // b's ustar header sits just before its data; its pax header (2 blocks) just before that.
    assert.equal(archive[b.offset - 512 - 512 - 512 + 156], 'x'.charCodeAt(0), 'fixture: GNU tar wrote a pax header for b');
    const cut = archive.subarray(0, b.offset - 512);
    const err = await rejection(readTar(chunked(cut, 512), () => undefined));
    assert.ok(err instanceof ImageError, String(err));
    assert.equal(err.code, 'LAYER_TRUNCATED');
  });
});

describe('readTar and its sinks', () => {
  test('a source that fails inside an entry: the error comes through and the open sink is aborted', async () => {
    const archive = Buffer.concat([fileEntry('a', 'aaa'), fileEntry('b', Buffer.alloc(4000, 0x62)), END]);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield archive.subarray(0, 1024 + 512 + 1000);
      throw new ImageError('NETWORK', 'connection reset');
    }
    const ended: string[] = [];
    const aborted: string[] = [];
    const err = await rejection(readTar(failing(), (h) => ({ write: () => undefined, end: () => void ended.push(h.name), abort: () => void aborted.push(h.name) })));
    assert.equal(err.code, 'NETWORK');
    assert.deepEqual(ended, ['a']);
    assert.deepEqual(aborted, ['b']);
  });

  test('an async sink holds the reader: writes and ends are in order, one entry at a time', async () => {
    const archive = Buffer.concat([fileEntry('a', Buffer.alloc(3000, 1)), fileEntry('b', Buffer.alloc(2000, 2)), END]);
    const log: string[] = [];
    let busy = false;
    await readTar(chunked(archive, 700), (h) => {
      assert.equal(busy, false, 'no new entry while a sink is busy');
      log.push(`entry ${h.name}`);
      return {
        async write(chunk) {
          busy = true;
          await new Promise((r) => setTimeout(r, 1));
          log.push(`write ${h.name} ${chunk.length}`);
          busy = false;
        },
        async end() {
          busy = true;
          await new Promise((r) => setTimeout(r, 1));
          log.push(`end ${h.name}`);
          busy = false;
        },
      };
    });
    assert.equal(log[0], 'entry a');
    assert.equal(log.indexOf('end a') < log.indexOf('entry b'), true);
    const writtenA = log.filter((l) => l.startsWith('write a')).reduce((n, l) => n + Number(l.split(' ')[2]), 0);
    const writtenB = log.filter((l) => l.startsWith('write b')).reduce((n, l) => n + Number(l.split(' ')[2]), 0);
    assert.deepEqual([writtenA, writtenB], [3000, 2000]);
    assert.equal(log.at(-1), 'end b');
  });

  test('sinks for header-only entries and empty files are ended without writes', async () => {
    const archive = Buffer.concat([tarHeader({ name: 'd/', flag: '5' }), tarHeader({ name: 'l', flag: '2', linkname: 'x' }), fileEntry('empty', ''), END]);
    const r = await readEveryChunking(archive);
    assert.deepEqual(r.entries.map((e) => [e.header.name, e.ends, e.data?.length]), [
      ['d/', 1, undefined],
      ['l', 1, undefined],
      ['empty', 1, 0],
    ]);
  });

  test('an error thrown by onEntry or a sink rejects the read', async () => {
    const archive = Buffer.concat([fileEntry('a', 'aaa'), END]);
    await assert.rejects(readTar(chunked(archive, 512), () => Promise.reject(new Error('visitor failed'))), /visitor failed/);
    await assert.rejects(
      readTar(chunked(archive, 512), () => ({
        write: () => Promise.reject(new Error('disk full')),
        end: () => undefined,
      })),
      /disk full/,
    );
  });

  test('the header passed to onEntry is a snapshot: later blocks do not change it', async () => {
    const archive = Buffer.concat([fileEntry('first', 'x'), fileEntry('second', 'y'), END]);
    const headers: TarHeader[] = [];
    await readTar(chunked(archive, 1), (h) => void headers.push(h));
    assert.deepEqual(headers.map((h) => h.name), ['first', 'second']);
  });
});
