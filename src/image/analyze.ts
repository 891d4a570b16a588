/**
 * Reading a layer (or a directory) once: every entry goes into the layer's index (for the squashed
 * tree), and the files a visitor wants are captured (in memory, or in a temporary file when large)
 * and handed over with random access. Nothing else of the layer touches the disk.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ImageError } from './errors.js';
import { decompressed, walkLayer } from './layer.js';
import type { EntrySink, TarEntryType } from './tar.js';
import type { FileNode } from './tree.js';

/** A captured file, readable at any offset. */
export interface CapturedFile {
  readonly path: string;
  /** The file's size in the image; with `headBytes` only the head is readable. */
  readonly size: number;
  readonly mode: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface Capture {
  /** Larger files are not captured; the visitor is warned with the path. */
  readonly maxBytes: number;
  /** Keep only this many leading bytes, whatever the size. */
  readonly headBytes?: number;
  /** Checked on the first 64 bytes; false drops the file. */
  readonly sniff?: (head: Uint8Array) => boolean;
}

export interface FileVisitor {
  want(path: string, size: number, mode: number): Capture | undefined;
  visit(file: CapturedFile): Promise<void>;
  warn(message: string): void;
}

export interface LayerIndex {
  readonly entries: Omit<FileNode, 'layer'>[];
  readonly whiteouts: string[];
  readonly opaques: string[];
}

/** Files up to this size are kept in memory; larger ones go to a temporary file. */
const MEMORY_LIMIT = 8 * 1024 * 1024;
const SNIFF_BYTES = 64;

/** Indexes a layer blob (compressed or not) and feeds the visitor. */
export async function indexLayer(blob: AsyncIterable<Uint8Array>, visitor: FileVisitor, tmpDir: string): Promise<LayerIndex> {
  const index: LayerIndex = { entries: [], whiteouts: [], opaques: [] };
  const result = await walkLayer(decompressed(blob), (e) => {
    if (e.kind === 'whiteout') {
      index.whiteouts.push(e.path);
      return undefined;
    }
    if (e.kind === 'opaque') {
      index.opaques.push(e.path);
      return undefined;
    }
    const h = e.header;
    index.entries.push({ path: e.path, type: h.type, mode: h.mode, size: h.size, linkname: h.linkname, uid: h.uid, gid: h.gid });
    if (h.type !== 'file') return undefined;
    const capture = visitor.want(e.path, h.size, h.mode);
    if (capture === undefined) return undefined;
    if (h.sparse) {
      visitor.warn(`/${e.path}: a sparse file (${h.size} bytes); not read`);
      return undefined;
    }
    if (capture.headBytes === undefined && h.size > capture.maxBytes) {
      visitor.warn(`/${e.path}: ${h.size} bytes, over the ${capture.maxBytes}-byte limit for this kind of file; not read`);
      return undefined;
    }
    return captureSink(e.path, h.size, h.mode, capture, visitor, tmpDir);
  });
  if (!result.endMarker) visitor.warn('a layer ends without the tar end-of-archive blocks (as older umoci writes them); every entry was read');
  for (const name of result.skipped) visitor.warn(`an entry named ${JSON.stringify(name)} points outside the image root; skipped`);
  return index;
}

function captureSink(path: string, size: number, mode: number, capture: Capture, visitor: FileVisitor, tmpDir: string): EntrySink {
  const keep = Math.min(size, capture.headBytes ?? size);
  let kept = 0;
  let sniffed = capture.sniff === undefined;
  let dropped = false;
  const parts: Uint8Array[] = [];
  let spill: { path: string; fh: fsp.FileHandle } | undefined;

  const toSpill = async (): Promise<void> => {
    const file = join(tmpDir, `capture-${randomUUID()}`);
    const fh = await fsp.open(file, 'wx+', 0o600);
    spill = { path: file, fh };
    for (const p of parts.splice(0)) await fh.write(p);
  };

  return {
    write(chunk) {
      if (dropped || kept >= keep) return undefined;
      const piece = chunk.subarray(0, Math.min(chunk.length, keep - kept));
      kept += piece.length;
      if (spill !== undefined) return spill.fh.write(piece).then(() => undefined);
      parts.push(piece);
      if (!sniffed && kept >= Math.min(SNIFF_BYTES, size)) {
        sniffed = true;
        if (!capture.sniff!(Buffer.concat(parts).subarray(0, SNIFF_BYTES))) {
          dropped = true;
          parts.length = 0;
          return undefined;
        }
      }
      if (kept > MEMORY_LIMIT) return toSpill();
      return undefined;
    },
    async abort() {
      dropped = true;
      parts.length = 0;
      if (spill !== undefined) {
        await spill.fh.close().catch(() => undefined);
        await fsp.rm(spill.path, { force: true });
        spill = undefined;
      }
    },
    async end() {
      if (dropped) return;
      if (!sniffed && !capture.sniff!(Buffer.concat(parts))) return;
      if (spill === undefined) {
        const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        await visitor.visit({ path, size, mode, read: (offset, length) => Promise.resolve(slice(bytes, offset, length)) });
        return;
      }
      const { fh, path: file } = spill;
      try {
        await visitor.visit({ path, size, mode, read: (offset, length) => readAt(fh, offset, Math.min(length, kept - offset)) });
      } finally {
        await fh.close().catch(() => undefined);
        await fsp.rm(file, { force: true });
      }
    },
  };
}

/** Up to `length` leading bytes of a file (fewer if it shrank meanwhile). */
function readHeadSync(path: string, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const n = readSync(fd, buffer, filled, length - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return buffer.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

function slice(bytes: Uint8Array, offset: number, length: number): Uint8Array {
  const start = Math.max(0, Math.min(offset, bytes.length));
  return bytes.subarray(start, Math.max(start, Math.min(bytes.length, start + length)));
}

async function readAt(fh: fsp.FileHandle, offset: number, length: number): Promise<Uint8Array> {
  if (length <= 0 || offset < 0) return new Uint8Array(0);
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await fh.read(buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/**
 * Indexes a directory as if it were one layer holding it: symlinks are recorded, never followed
 * out of the root; wanted files are read in place. Special files are listed, not read.
 */
export async function indexDirectory(root: string, visitor: FileVisitor): Promise<LayerIndex> {
  const st = await fsp.stat(root).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) throw new ImageError('NOT_FOUND', `dir:${root}: no such directory`);
  const index: LayerIndex = { entries: [], whiteouts: [], opaques: [] };
  const stack: string[] = [''];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    let names: import('node:fs').Dirent[];
    try {
      names = readdirSync(join(root, rel), { withFileTypes: true });
    } catch (err) {
      visitor.warn(`/${rel}: cannot list (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      continue;
    }
    for (const d of names) {
      const path = rel === '' ? d.name : `${rel}/${d.name}`;
      const full = join(root, path);
      // Synchronous metadata calls: a thread-pool round trip per entry made the walk wait, not
      // work (tens of thousands of entries); each call is a few microseconds on a local disk.
      let s: import('node:fs').Stats;
      try {
        s = lstatSync(full);
      } catch {
        continue;
      }
      const type: TarEntryType = s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : s.isFIFO() ? 'fifo' : s.isCharacterDevice() ? 'char' : s.isBlockDevice() ? 'block' : 'other';
      let linkname = '';
      if (type === 'symlink') {
        try {
          linkname = readlinkSync(full);
        } catch {
          linkname = '';
        }
      }
      index.entries.push({ path, type, mode: s.mode & 0o7777, size: type === 'file' ? s.size : 0, linkname, uid: s.uid, gid: s.gid });
      if (type === 'directory') {
        stack.push(path);
        continue;
      }
      if (type !== 'file') continue;
      const capture = visitor.want(path, s.size, s.mode & 0o7777);
      if (capture === undefined) continue;
      if (capture.headBytes === undefined && s.size > capture.maxBytes) {
        visitor.warn(`/${path}: ${s.size} bytes, over the ${capture.maxBytes}-byte limit for this kind of file; not read`);
        continue;
      }
      const readable = Math.min(s.size, capture.headBytes ?? s.size);
      if (readable <= MEMORY_LIMIT) {
        // Small files (manifests, lockfiles: nearly all of them) are read whole, synchronously.
        let bytes: Buffer;
        try {
          bytes = readHeadSync(full, readable);
        } catch (err) {
          visitor.warn(`/${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
          continue;
        }
        if (capture.sniff !== undefined && !capture.sniff(bytes.subarray(0, SNIFF_BYTES))) continue;
        await visitor.visit({ path, size: s.size, mode: s.mode & 0o7777, read: (offset, length) => Promise.resolve(slice(bytes, offset, length)) });
        continue;
      }
      let fh: fsp.FileHandle;
      try {
        fh = await fsp.open(full, 'r');
      } catch (err) {
        visitor.warn(`/${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        continue;
      }
      try {
        if (capture.sniff !== undefined && !capture.sniff(await readAt(fh, 0, Math.min(SNIFF_BYTES, readable)))) continue;
        await visitor.visit({ path, size: s.size, mode: s.mode & 0o7777, read: (offset, length) => readAt(fh, offset, Math.min(length, readable - offset)) });
      } finally {
        await fh.close();
      }
    }
  }
  return index;
}
