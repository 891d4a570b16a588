/**
 * A zip reader over random access, for the Java archive cataloger: the central directory is found
 * from the end-of-central-directory record (zip64 included) and entries are read through their
 * local headers, so a 200 MiB fat jar costs a few small reads plus the entries asked for. Offsets
 * are taken relative to where the archive starts, so data prepended to it (a launcher script in a
 * "fully executable" Spring Boot jar) is allowed, as Go's archive/zip allows it. Sizes come from the
 * central directory, which is right even for entries written with data descriptors.
 */
import { inflateRawSync } from 'node:zlib';
import type { CatalogFile } from '../cataloger.js';

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly compressedSize: number;
  /** The uncompressed size the directory declares; what inflation really gives is capped apart. */
  readonly size: number;
  readonly headerOffset: number;
}

/** A problem with the archive or one entry, worded for the user. */
export class ZipError extends Error {}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
/** The EOCD record plus the longest comment it can carry. */
const EOCD_SEARCH = EOCD_SIZE + 0xffff;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;
const FLAG_ENCRYPTED = 0x1;
const FLAG_UTF8 = 0x800;

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** A little-endian 64-bit field; past 2^53 it is no real size or offset. */
function u64(b: Uint8Array, o: number): number {
  const v = u32(b, o) + u32(b, o + 4) * 2 ** 32;
  if (v > Number.MAX_SAFE_INTEGER) throw new ZipError('zip64 field out of range');
  return v;
}

function has(b: Uint8Array, o: number, n: number): boolean {
  return o >= 0 && o + n <= b.length;
}

export class Zip {
  private constructor(
    private readonly file: CatalogFile,
    /** Where the archive starts in the file (non-zero when something is prepended). */
    private readonly base: number,
    readonly entries: readonly ZipEntry[],
  ) {}

  /**
   * Reads the central directory. `maxDirectoryBytes` bounds what is read and parsed for it; the
   * caller charges the returned `directoryBytes` against its own budget.
   */
  static async open(file: CatalogFile, maxDirectoryBytes: number): Promise<{ zip: Zip; directoryBytes: number }> {
    const tailStart = Math.max(0, file.size - EOCD_SEARCH);
    const tail = await file.read(tailStart, file.size - tailStart);
    let eocd = -1;
    for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
      if (u32(tail, i) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new ZipError('not a zip archive (no end of central directory)');
    let count = u16(tail, eocd + 10);
    let dirSize = u32(tail, eocd + 12);
    let dirOffset = u32(tail, eocd + 16);
    let dirEnd = tailStart + eocd;
    if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
      const locatorAt = tailStart + eocd - 20;
      const locator = locatorAt >= 0 ? await file.read(locatorAt, 20) : new Uint8Array(0);
      if (has(locator, 0, 20) && u32(locator, 0) === ZIP64_LOCATOR_SIGNATURE) {
        const at = u64(locator, 8);
        const record = await file.read(at, 56);
        if (!has(record, 0, 56) || u32(record, 0) !== ZIP64_EOCD_SIGNATURE) throw new ZipError('zip64 end of central directory is missing');
        count = u64(record, 32);
        dirSize = u64(record, 40);
        dirOffset = u64(record, 48);
        dirEnd = at;
      }
    }
    if (dirSize > maxDirectoryBytes) throw new ZipError(`central directory of ${dirSize} bytes is over the limit`);
    // Prepended data shifts every offset by the same amount: where the directory ends tells how much.
    let base = dirEnd - dirSize - dirOffset;
    if (base < 0) throw new ZipError('central directory offsets point past its end');
    let dir = await file.read(base + dirOffset, dirSize);
    if (base !== 0 && !(has(dir, 0, 4) && u32(dir, 0) === CENTRAL_SIGNATURE)) {
      base = 0;
      dir = await file.read(dirOffset, dirSize);
    }
    if (dir.length < dirSize) throw new ZipError('central directory is cut short');
    const entries: ZipEntry[] = [];
    let o = 0;
    for (let i = 0; i < count && has(dir, o, 46) && u32(dir, o) === CENTRAL_SIGNATURE; i++) {
      const flags = u16(dir, o + 8);
      const method = u16(dir, o + 10);
      let compressedSize = u32(dir, o + 20);
      let size = u32(dir, o + 24);
      const nameLength = u16(dir, o + 28);
      const extraLength = u16(dir, o + 30);
      const commentLength = u16(dir, o + 32);
      let headerOffset = u32(dir, o + 42);
      if (!has(dir, o + 46, nameLength + extraLength)) break;
      const nameBytes = dir.subarray(o + 46, o + 46 + nameLength);
      const name = Buffer.from(nameBytes).toString((flags & FLAG_UTF8) !== 0 ? 'utf8' : 'latin1');
      // The zip64 extra field holds, in this order, whichever 32-bit fields are saturated.
      const extra = dir.subarray(o + 46 + nameLength, o + 46 + nameLength + extraLength);
      for (let e = 0; has(extra, e, 4); e += 4 + u16(extra, e + 2)) {
        if (u16(extra, e) !== 0x0001) continue;
        const field = extra.subarray(e + 4, e + 4 + u16(extra, e + 2));
        let f = 0;
        if (size === 0xffffffff && has(field, f, 8)) (size = u64(field, f)), (f += 8);
        if (compressedSize === 0xffffffff && has(field, f, 8)) (compressedSize = u64(field, f)), (f += 8);
        if (headerOffset === 0xffffffff && has(field, f, 8)) headerOffset = u64(field, f);
        break;
      }
      entries.push({ name, method, flags, compressedSize, size, headerOffset });
      o += 46 + nameLength + extraLength + commentLength;
    }
    return { zip: new Zip(file, base, entries), directoryBytes: dir.length };
  }

  /** Where an entry's data starts, from its local header. */
  private async dataOffset(entry: ZipEntry): Promise<number> {
    const at = this.base + entry.headerOffset;
    const header = await this.file.read(at, 30);
    if (!has(header, 0, 30) || u32(header, 0) !== LOCAL_SIGNATURE) throw new ZipError(`${entry.name}: local header is missing`);
    return at + 30 + u16(header, 26) + u16(header, 28);
  }

  private check(entry: ZipEntry, maxBytes: number): void {
    if ((entry.flags & FLAG_ENCRYPTED) !== 0) throw new ZipError(`${entry.name}: encrypted`);
    if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATED) throw new ZipError(`${entry.name}: compression method ${entry.method} is not supported`);
    if (entry.size > maxBytes) throw new ZipError(`${entry.name}: declares ${entry.size} bytes, over the limit of ${maxBytes}`);
  }

  /** An entry's content, inflated to at most `maxBytes` (more is an error, whatever the directory declared). */
  async read(entry: ZipEntry, maxBytes: number): Promise<Uint8Array> {
    this.check(entry, maxBytes);
    const start = await this.dataOffset(entry);
    if (entry.method === METHOD_STORED) {
      if (entry.compressedSize > maxBytes) throw new ZipError(`${entry.name}: stores ${entry.compressedSize} bytes, over the limit of ${maxBytes}`);
      const data = await this.file.read(start, entry.compressedSize);
      if (data.length < entry.compressedSize) throw new ZipError(`${entry.name}: cut short`);
      return data;
    }
    // Incompressible data grows by 5 bytes per 64 KiB stored block, so an honest entry stays under this.
    if (entry.compressedSize > maxBytes + Math.ceil(maxBytes / 1024) + 1024) throw new ZipError(`${entry.name}: ${entry.compressedSize} compressed bytes, over the limit of ${maxBytes}`);
    const compressed = await this.file.read(start, entry.compressedSize);
    try {
      return inflateRawSync(compressed, { maxOutputLength: maxBytes });
    } catch (err) {
      if (err instanceof RangeError) throw new ZipError(`${entry.name}: inflates past the limit of ${maxBytes} bytes`);
      throw new ZipError(`${entry.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** A stored entry as a file of its own, read in place: nothing is copied (Spring Boot stores its nested jars). */
  async view(entry: ZipEntry, path: string): Promise<CatalogFile> {
    if (entry.method !== METHOD_STORED) throw new ZipError(`${entry.name}: not stored`);
    this.check(entry, Number.MAX_SAFE_INTEGER);
    const start = await this.dataOffset(entry);
    const size = entry.compressedSize;
    const file = this.file;
    return {
      path,
      size,
      mode: 0o644,
      read: (offset, length) => (offset >= size || length <= 0 ? Promise.resolve(new Uint8Array(0)) : file.read(start + Math.max(0, offset), Math.min(length, size - Math.max(0, offset)))),
    };
  }
}
