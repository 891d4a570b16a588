/**
 * indexLayer / indexDirectory with a recording FileVisitor: what is captured (in memory, or
 * spooled to a temporary file past 8 MiB and removed after), head-only capture of a huge file
 * streamed lazily, size limits, sniffing, sparse files, and the warnings for layers without end
 * blocks or with names outside the root. Nothing may stay in (or be written outside) the tmp dir.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync, chmodSync, openSync, writeSync, closeSync, ftruncateSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ImageError, indexDirectory, indexLayer, type Capture, type CapturedFile, type FileVisitor } from '../../src/image/index.js';
import { requireTools, tempDir } from '../helpers/env.js';
import { chunked, END, fileEntry, padded, rejection, runOk, tarHeader, type Chunking } from './helpers.js';

const MiB = 1024 * 1024;

/** Deterministic incompressible bytes. */
function noise(seed: string, n: number): Buffer {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const c = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

interface Visit {
  readonly path: string;
  readonly size: number;
  readonly mode: number;
  /** Everything read() gives from offset 0 (up to `readUpTo`). */
  readonly bytes: Buffer;
  /** Names in the tmp dir while the file was being visited. */
  readonly tmpFiles: string[];
}

class Recorder implements FileVisitor {
  readonly warnings: string[] = [];
  readonly visits: Visit[] = [];
  readonly asked: string[] = [];
  constructor(
    private readonly policy: (path: string, size: number, mode: number) => Capture | undefined,
    private readonly options: { tmpDir?: string; readUpTo?: number; onVisit?: (f: CapturedFile) => Promise<void> } = {},
  ) {}
  want(path: string, size: number, mode: number): Capture | undefined {
    this.asked.push(path);
    return this.policy(path, size, mode);
  }
  async visit(f: CapturedFile): Promise<void> {
    const limit = Math.min(f.size, this.options.readUpTo ?? f.size);
    const parts: Uint8Array[] = [];
    for (let at = 0; at < limit; ) {
      const piece = await f.read(at, Math.min(MiB, limit - at));
      if (piece.length === 0) break;
      parts.push(Buffer.from(piece));
      at += piece.length;
    }
    const tmpFiles = this.options.tmpDir !== undefined ? readdirSync(this.options.tmpDir) : [];
    this.visits.push({ path: f.path, size: f.size, mode: f.mode, bytes: Buffer.concat(parts), tmpFiles });
    await this.options.onVisit?.(f);
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
  visited(path: string): Visit | undefined {
    return this.visits.find((v) => v.path === path);
  }
}

const all = (maxBytes = 64 * MiB): ((path: string) => Capture) => () => ({ maxBytes });

function tarOf(files: Record<string, Buffer | string>, end = true): Buffer {
  return Buffer.concat([...Object.entries(files).map(([name, data]) => fileEntry(name, data)), ...(end ? [END] : [])]);
}

function captureNamesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => n.startsWith('capture-'));
  } catch {
    return [];
  }
}

describe('indexLayer: capturing files', () => {
  test('small files are captured in memory and readable at any offset; the index lists every entry', async (t) => {
    const tmp = tempDir(t);
    const a = noise('a', 100);
    const b = noise('b', 5000);
    const tar = Buffer.concat([
      tarHeader({ name: './', flag: '5' }),
      tarHeader({ name: './etc/', flag: '5' }),
      fileEntry('./etc/a', a),
      fileEntry('./etc/b', b),
      fileEntry('./etc/empty', ''),
      fileEntry('./bin/tool', 'tool', { mode: 0o755 }),
      tarHeader({ name: './bin/sh', flag: '2', linkname: 'tool' }),
      tarHeader({ name: './bin/hard', flag: '1', linkname: './bin/tool' }),
      END,
    ]);
    for (const c of [7, 512, 'random'] as Chunking[]) {
      let checked = false;
      const v = new Recorder(all(), {
        tmpDir: tmp,
        onVisit: async (f) => {
          if (f.path !== 'etc/b') return;
          assert.ok(Buffer.from(await f.read(10, 20)).equals(b.subarray(10, 30)));
          assert.ok(Buffer.from(await f.read(4995, 100)).equals(b.subarray(4995)), 'a read past the end is cut at the end');
          assert.equal((await f.read(5000, 10)).length, 0);
          assert.equal((await f.read(9999, 10)).length, 0);
          checked = true;
        },
      });
      const index = await indexLayer(chunked(gzipSync(tar), c), v, tmp);
      assert.ok(checked);
      assert.deepEqual(v.asked, ['etc/a', 'etc/b', 'etc/empty', 'bin/tool'], 'want() is asked about regular files only');
      assert.deepEqual(
        v.visits.map((x) => [x.path, x.size, x.mode, x.bytes.length, x.tmpFiles.length]),
        [
          ['etc/a', 100, 0o644, 100, 0],
          ['etc/b', 5000, 0o644, 5000, 0],
          ['etc/empty', 0, 0o644, 0, 0],
          ['bin/tool', 4, 0o755, 4, 0],
        ],
      );
      assert.ok(v.visited('etc/a')!.bytes.equals(a));
      assert.ok(v.visited('etc/b')!.bytes.equals(b));
      assert.deepEqual(
        index.entries.map((e) => [e.path, e.type, e.size, e.linkname]),
        [
          ['etc', 'directory', 0, ''],
          ['etc/a', 'file', 100, ''],
          ['etc/b', 'file', 5000, ''],
          ['etc/empty', 'file', 0, ''],
          ['bin/tool', 'file', 4, ''],
          ['bin/sh', 'symlink', 0, 'tool'],
          ['bin/hard', 'hardlink', 0, 'bin/tool'],
        ],
      );
      assert.deepEqual(v.warnings, []);
      assert.deepEqual(readdirSync(tmp), []);
    }
  });

  test('a file over 8 MiB is spooled to a file in the tmp dir, readable across the boundary, and deleted after', async (t) => {
    const tmp = tempDir(t);
    const big = noise('big', 9 * MiB + 123);
    const exact = noise('exact', 8 * MiB);
    const tar = tarOf({ 'exactly-8MiB': exact, 'big.bin': big, 'small.txt': 'small\n' });
    const beforeTmp = captureNamesIn(tmpdir());
    const beforeCwd = captureNamesIn(process.cwd());
    const v = new Recorder(all(), {
      tmpDir: tmp,
      onVisit: async (f) => {
        if (f.path !== 'big.bin') return;
        const across = await f.read(8 * MiB - 10, 20);
        assert.ok(Buffer.from(across).equals(big.subarray(8 * MiB - 10, 8 * MiB + 10)), 'a read across the 8 MiB boundary');
        assert.ok(Buffer.from(await f.read(big.length - 3, 10)).equals(big.subarray(big.length - 3)));
        assert.equal((await f.read(big.length, 10)).length, 0);
      },
    });
    const index = await indexLayer(chunked(tar, 65536), v, tmp);
    assert.equal(index.entries.length, 3);
    const b = v.visited('big.bin')!;
    assert.equal(b.size, big.length);
    assert.ok(b.bytes.equals(big), 'the spooled copy is exact');
    assert.equal(b.tmpFiles.length, 1, 'one spool file while the big file is visited');
    assert.equal(v.visited('exactly-8MiB')!.tmpFiles.length, 0, 'exactly 8 MiB stays in memory');
    assert.ok(v.visited('exactly-8MiB')!.bytes.equals(exact));
    assert.equal(v.visited('small.txt')!.bytes.toString(), 'small\n');
    assert.deepEqual(readdirSync(tmp), [], 'the spool file is deleted');
    assert.deepEqual(captureNamesIn(tmpdir()), beforeTmp, 'nothing written to the system tmp dir');
    assert.deepEqual(captureNamesIn(process.cwd()), beforeCwd, 'nothing written to the working directory');
  });

  test('a visitor that throws on a spooled file: the error comes out and the spool file is gone', async (t) => {
    const tmp = tempDir(t);
    const tar = tarOf({ 'big.bin': noise('big2', 9 * MiB) });
    // (readUpTo 0: the recorder reads nothing itself, so only the visitor's failure matters here)
    const v = new Recorder(all(), { readUpTo: 0, onVisit: () => Promise.reject(new Error('visitor broke')) });
    await assert.rejects(indexLayer(chunked(tar, 65536), v, tmp), /visitor broke/);
    assert.deepEqual(readdirSync(tmp), []);
  });

  test('a blob stream that fails in the middle of a spooled file (plain or gzip) leaves no spool file behind', async (t) => {
    const tmp = tempDir(t);
    const tar = tarOf({ 'big.bin': noise('midway', 12 * MiB) });
    for (const [label, blob] of [
      ['plain', tar],
      ['gzip', gzipSync(tar, { level: 1 })],
    ] as const) {
      // As a registry connection reset after 10 MiB would.
      async function* failing(): AsyncGenerator<Uint8Array> {
        let sent = 0;
        for await (const c of chunked(blob, 65536)) {
          if (sent > 10 * MiB) throw new ImageError('NETWORK', 'connection reset');
          sent += c.length;
          yield c;
        }
      }
      const v = new Recorder(all());
      const err = await rejection(indexLayer(failing(), v, tmp));
      assert.equal(err.code, 'NETWORK', `${label}: ${err.message}`);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(v.visits, [], `${label}: nothing visited`);
      assert.deepEqual(readdirSync(tmp), [], `${label}: the partial spool file of big.bin is removed`);
    }
  });

  test('a layer truncated inside a wanted file: LAYER_TRUNCATED, the partial file is not handed to the visitor, no spool file stays', async (t) => {
    const tmp = tempDir(t);
    for (const size of [5000, 10 * MiB]) {
      const content = noise(`trunc${size}`, size);
      const tar = tarOf({ 'ok.txt': 'complete\n', 'cut.bin': content });
      const cut = tar.subarray(0, 1024 + 512 + Math.floor(size * 0.95));
      const v = new Recorder(all());
      const err = await rejection(indexLayer(chunked(cut, 65536), v, tmp));
      assert.equal(err.code, 'LAYER_TRUNCATED', `${size}: ${err.message}`);
      assert.deepEqual(v.visits.map((x) => x.path), ['ok.txt'], `${size} bytes: only the complete file is visited`);
      assert.deepEqual(readdirSync(tmp), []);
    }
  });
});

describe('indexLayer: head-only capture of huge files', () => {
  /** A tar of one `size`-byte file made lazily: a distinct first MiB, then one shared buffer over and over. */
  async function* hugeTar(size: number, stats: { maxArrayBuffers: number }): AsyncGenerator<Uint8Array> {
    yield tarHeader({ name: 'huge.img', size });
    yield noise('head', MiB);
    const fill = Buffer.alloc(MiB, 0x5a);
    let sent = MiB;
    while (sent < size) {
      const n = Math.min(MiB, size - sent);
      yield n === MiB ? fill : fill.subarray(0, n);
      sent += n;
      if ((sent / MiB) % 64 === 0) stats.maxArrayBuffers = Math.max(stats.maxArrayBuffers, process.memoryUsage().arrayBuffers);
    }
    yield padded(Buffer.alloc(size % 512));
    yield fileEntry('after.txt', 'read after the huge file\n');
    yield END;
  }

  test('a 1 GiB file with headBytes: only the head is kept, the layer streams through in constant memory', async (t) => {
    const tmp = tempDir(t);
    const size = 1024 * MiB;
    const stats = { maxArrayBuffers: 0 };
    const before = process.memoryUsage().arrayBuffers;
    const v = new Recorder((path) => (path === 'huge.img' ? { maxBytes: 1024, headBytes: 4096 } : { maxBytes: 1024 }), {
      tmpDir: tmp,
      readUpTo: MiB,
      onVisit: async (f) => {
        if (f.path !== 'huge.img') return;
        assert.equal((await f.read(4096, 10)).length, 0, 'nothing past the head');
        assert.equal((await f.read(4000, 1000)).length, 96);
      },
    });
    const index = await indexLayer(hugeTar(size, stats), v, tmp);
    const huge = v.visited('huge.img')!;
    assert.equal(huge.size, size, 'the visitor is told the real size');
    assert.equal(huge.bytes.length, 4096, 'only the head is readable');
    assert.ok(huge.bytes.equals(noise('head', MiB).subarray(0, 4096)));
    assert.equal(huge.tmpFiles.length, 0, 'a small head stays in memory');
    assert.equal(v.visited('after.txt')?.bytes.toString(), 'read after the huge file\n', 'the entry after it reads');
    assert.deepEqual(v.warnings, [], 'headBytes captures whatever the size; no limit warning');
    assert.equal(index.entries.find((e) => e.path === 'huge.img')?.size, size);
    assert.ok(stats.maxArrayBuffers - before < 128 * MiB, `buffers grew by ${Math.round((stats.maxArrayBuffers - before) / MiB)} MiB while streaming 1 GiB`);
  });

  test('a head over 8 MiB of a 64 MiB file is spooled, cut at headBytes, and deleted after', async (t) => {
    const tmp = tempDir(t);
    const headBytes = 9 * MiB + 1;
    const v = new Recorder((path) => (path === 'huge.img' ? { maxBytes: 0, headBytes } : undefined), { tmpDir: tmp });
    await indexLayer(hugeTar(64 * MiB, { maxArrayBuffers: 0 }), v, tmp);
    const huge = v.visited('huge.img')!;
    assert.equal(huge.size, 64 * MiB);
    assert.equal(huge.bytes.length, headBytes);
    assert.ok(huge.bytes.subarray(0, MiB).equals(noise('head', MiB)));
    assert.ok(huge.bytes.subarray(MiB).equals(Buffer.alloc(headBytes - MiB, 0x5a)));
    assert.equal(huge.tmpFiles.length, 1);
    assert.deepEqual(readdirSync(tmp), []);
  });
});

describe('indexLayer: limits, sniffing, sparse files, warnings', () => {
  test('maxBytes: a larger file is not read and the visitor is warned with its path; a file of exactly maxBytes is read', async (t) => {
    const tmp = tempDir(t);
    const tar = tarOf({ 'var/lib/dpkg/status': noise('s', 2000), 'exact': noise('e', 1000) });
    const v = new Recorder(all(1000));
    await indexLayer(chunked(tar, 512), v, tmp);
    assert.deepEqual(v.visits.map((x) => x.path), ['exact']);
    assert.equal(v.warnings.length, 1);
    assert.match(v.warnings[0]!, /\/var\/lib\/dpkg\/status/);
    assert.match(v.warnings[0]!, /2000/);
  });

  test('sniff: sees the first 64 bytes (or the whole of a shorter file, or the head), and false drops the file', async (t) => {
    const tmp = tempDir(t);
    const elf = Buffer.concat([Buffer.from('\x7fELF', 'latin1'), noise('elf', 5000)]);
    const tinyElf = Buffer.from('\x7fELF\x02\x01', 'latin1');
    const text = Buffer.from('#!/bin/sh\n'.repeat(500));
    const tar = tarOf({ elf, 'tiny-elf': tinyElf, text, 'elf-head': elf });
    const heads = new Map<string, number>();
    for (const c of [1, 7, 512, 'random'] as Chunking[]) {
      heads.clear();
      const v = new Recorder((path) => ({
        maxBytes: MiB,
        ...(path === 'elf-head' ? { headBytes: 10 } : {}),
        sniff: (head: Uint8Array) => {
          heads.set(path, head.length);
          return Buffer.from(head.subarray(0, 4)).toString('latin1') === '\x7fELF';
        },
      }));
      await indexLayer(chunked(tar, c), v, tmp);
      assert.deepEqual(v.visits.map((x) => x.path), ['elf', 'tiny-elf', 'elf-head'], String(c));
      assert.deepEqual(Object.fromEntries(heads), { elf: 64, 'tiny-elf': 6, text: 64, 'elf-head': 10 }, String(c));
      assert.ok(v.visited('elf')!.bytes.equals(elf));
      assert.ok(v.visited('elf-head')!.bytes.equals(elf.subarray(0, 10)));
    }
  });

  test('sparse files (GNU tar --sparse) are indexed with their real size but not captured, with a warning', async (t) => {
    if (!requireTools(t, 'tar')) return;
    const dir = tempDir(t);
    const root = join(dir, 'root');
    mkdirSync(root);
    const fd = openSync(join(root, 'db'), 'w');
    writeSync(fd, Buffer.from('header'), 0, 6, 0);
    writeSync(fd, Buffer.from('trailer'), 0, 7, 5 * MiB);
    ftruncateSync(fd, 6 * MiB);
    closeSync(fd);
    writeFileSync(join(root, 'after'), 'after\n');
    for (const format of ['gnu', 'posix']) {
      const file = join(dir, `${format}.tar`);
      await runOk('tar', [`--format=${format}`, '--sparse', '-C', root, '-cf', file, 'db', 'after']);
      const v = new Recorder(all());
      const index = await indexLayer(chunked(gzipSync(readFileSync(file)), 65536), v, dir);
      assert.deepEqual(v.visits.map((x) => x.path), ['after'], format);
      assert.equal(index.entries.find((e) => e.path === 'db')?.size, 6 * MiB, format);
      assert.equal(v.warnings.length, 1, format);
      assert.match(v.warnings[0]!, /\/db: a sparse file/);
    }
  });

  test('a layer without end-of-archive blocks: everything read, one warning', async (t) => {
    const tmp = tempDir(t);
    const v = new Recorder(all());
    const index = await indexLayer(chunked(gzipSync(tarOf({ a: 'a', b: 'bb' }, false)), 100), v, tmp);
    assert.deepEqual(v.visits.map((x) => x.path), ['a', 'b']);
    assert.equal(index.entries.length, 2);
    assert.equal(v.warnings.length, 1);
    assert.match(v.warnings[0]!, /end-of-archive/);
  });

  test('names outside the root: skipped from the index, never offered to the visitor, each warned about', async (t) => {
    const tmp = tempDir(t);
    const v = new Recorder(all());
    const tar = tarOf({ '../../etc/cron.d/evil': 'evil', 'ok': 'ok', '/../x': 'x' });
    const index = await indexLayer(chunked(tar, 512), v, tmp);
    assert.deepEqual(index.entries.map((e) => e.path), ['ok']);
    assert.deepEqual(v.asked, ['ok']);
    assert.equal(v.warnings.length, 2);
    assert.match(v.warnings[0]!, /"\.\.\/\.\.\/etc\/cron\.d\/evil"/);
    assert.match(v.warnings[1]!, /"\/\.\.\/x"/);
  });

  test('whiteouts and opaque directories go to the index, not to the visitor', async (t) => {
    const tmp = tempDir(t);
    const v = new Recorder(all());
    const index = await indexLayer(chunked(tarOf({ 'etc/.wh.motd': '', 'var/.wh..wh..opq': '', 'var/new': 'n' }), 512), v, tmp);
    assert.deepEqual(index.whiteouts, ['etc/motd']);
    assert.deepEqual(index.opaques, ['var']);
    assert.deepEqual(index.entries.map((e) => e.path), ['var/new']);
    assert.deepEqual(v.asked, ['var/new']);
  });

  test('not a tar, or corrupt gzip: LAYER_INVALID', async (t) => {
    const tmp = tempDir(t);
    const junk = noise('junk', 4096);
    const e1 = await rejection(indexLayer(chunked(junk, 512), new Recorder(all()), tmp));
    assert.equal(e1.code, 'LAYER_INVALID');
    const gz = gzipSync(tarOf({ a: noise('x', 100_000) }));
    const bad = Buffer.from(gz);
    for (let i = 50; i < 80; i++) bad[i] = bad[i]! ^ 0xff;
    const e2 = await rejection(indexLayer(chunked(bad, 512), new Recorder(all()), tmp));
    assert.equal(e2.code, 'LAYER_INVALID');
  });
});

describe('indexDirectory', () => {
  test('a directory as one layer: files read in place, links recorded and never followed, special files listed only', async (t) => {
    if (!requireTools(t, 'mkfifo')) return;
    const base = tempDir(t);
    const root = join(base, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'bin'), { recursive: true });
    writeFileSync(join(base, 'secret'), 'outside the root\n');
    writeFileSync(join(root, 'etc', 'os-release'), 'ID=test\n');
    writeFileSync(join(root, 'bin', 'tool'), '\x7fELF-tool');
    chmodSync(join(root, 'bin', 'tool'), 0o755);
    writeFileSync(join(root, 'big'), noise('big', 3000));
    writeFileSync(join(root, 'headed'), noise('headed', 3000));
    symlinkSync('/etc/shadow', join(root, 'abs-out'));
    symlinkSync('../secret', join(root, 'rel-out'));
    symlinkSync('etc', join(root, 'linkdir'));
    await runOk('mkfifo', [join(root, 'pipe')]);
    const v = new Recorder((path) => (path === 'headed' ? { maxBytes: 100, headBytes: 16 } : { maxBytes: 1000 }));
    const index = await indexDirectory(root, v);
    const byPath = new Map(index.entries.map((e) => [e.path, e]));
    assert.deepEqual([...byPath.keys()].sort(), ['abs-out', 'big', 'bin', 'bin/tool', 'etc', 'etc/os-release', 'headed', 'linkdir', 'pipe', 'rel-out']);
    assert.equal(byPath.get('abs-out')?.type, 'symlink');
    assert.equal(byPath.get('abs-out')?.linkname, '/etc/shadow');
    assert.equal(byPath.get('rel-out')?.linkname, '../secret');
    assert.equal(byPath.get('linkdir')?.type, 'symlink', 'a link to a directory is not descended');
    assert.equal(byPath.get('pipe')?.type, 'fifo');
    assert.equal(byPath.get('bin/tool')?.mode, 0o755);
    assert.deepEqual(v.asked.sort(), ['big', 'bin/tool', 'etc/os-release', 'headed']);
    assert.deepEqual(v.visits.map((x) => x.path).sort(), ['bin/tool', 'etc/os-release', 'headed']);
    assert.equal(v.visited('etc/os-release')?.bytes.toString(), 'ID=test\n');
    assert.ok(v.visited('headed')!.bytes.equals(noise('headed', 16)));
    assert.equal(v.visited('headed')!.size, 3000);
    assert.equal(v.warnings.length, 1);
    assert.match(v.warnings[0]!, /\/big: 3000 bytes/);
    assert.deepEqual(index.whiteouts, []);
  });

  test('sniff on a directory; a missing directory or a file is NOT_FOUND', async (t) => {
    const base = tempDir(t);
    writeFileSync(join(base, 'a.elf'), '\x7fELFxxxx');
    writeFileSync(join(base, 'b.txt'), 'text');
    const v = new Recorder(() => ({ maxBytes: 100, sniff: (h) => h[0] === 0x7f }));
    await indexDirectory(base, v);
    assert.deepEqual(v.visits.map((x) => x.path), ['a.elf']);
    for (const p of [join(base, 'missing'), join(base, 'b.txt')]) {
      const err = await rejection(indexDirectory(p, new Recorder(all())));
      assert.ok(err instanceof ImageError);
      assert.equal(err.code, 'NOT_FOUND');
    }
  });
});
