/**
 * Reads the key/value pairs of a Berkeley DB hash database, the format of rpm's `Packages` before
 * rpm 4.16 (RHEL/CentOS 7 and 8, Amazon Linux 2). Read-only and self-contained, like rpm's own
 * bdb_ro backend: metadata page 0, then hash pages whose item index points at key/value items,
 * values either on the page or in a chain of overflow pages. Pages are scanned in file order
 * instead of walking bucket chains, so a corrupt `next` link cannot loop; overflow chains are
 * followed with a visited set. Either byte order is accepted (the magic number tells which).
 */

const HASH_MAGIC = 0x061561;
const BTREE_MAGIC = 0x053162;
/** Page header size (lsn, pgno, prev, next, entries, hf_offset, level, type). */
const PAGE_HEADER = 26;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;

export interface BdbPair {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

class Pages {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
    readonly pageSize: number,
    readonly count: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16(at: number): number {
    return this.view.getUint16(at, this.littleEndian);
  }
  u32(at: number): number {
    return this.view.getUint32(at, this.littleEndian);
  }
}

/** All pairs of the database. Problems go to `warn`; a bad item or page is skipped, not fatal. */
export function* bdbHashPairs(bytes: Uint8Array, warn: (message: string) => void): Generator<BdbPair> {
  const pages = openMeta(bytes, warn);
  if (pages === undefined) return;
  for (let pgno = 1; pgno < pages.count; pgno++) {
    const base = pgno * pages.pageSize;
    const type = bytes[base + 25];
    // Unused pages are zero; free, overflow and metadata pages hold no pairs of their own.
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    if (pages.u32(base + 8) !== pgno) {
      warn(`page ${pgno}: header names page ${pages.u32(base + 8)}`);
      continue;
    }
    const entries = pages.u16(base + 20);
    if (PAGE_HEADER + entries * 2 > pages.pageSize) {
      warn(`page ${pgno}: ${entries} entries do not fit the page`);
      continue;
    }
    // Items are stored from the end of the page down: entry i spans [offset(i), offset(i-1)).
    for (let i = 0; i + 1 < entries; i += 2) {
      const keyOff = pages.u16(base + PAGE_HEADER + 2 * i);
      const valueOff = pages.u16(base + PAGE_HEADER + 2 * i + 2);
      const keyEnd = i === 0 ? pages.pageSize : pages.u16(base + PAGE_HEADER + 2 * i - 2);
      if (!(PAGE_HEADER + entries * 2 <= valueOff && valueOff < keyOff && keyOff < keyEnd && keyEnd <= pages.pageSize)) {
        warn(`page ${pgno}: item ${i / 2} has offsets outside the page`);
        continue;
      }
      let pair: BdbPair;
      try {
        pair = { key: item(pages, base + keyOff, keyEnd - keyOff), value: item(pages, base + valueOff, keyOff - valueOff) };
      } catch (e) {
        warn(`page ${pgno}: item ${i / 2}: ${(e as Error).message}`);
        continue;
      }
      yield pair;
    }
  }
}

function openMeta(bytes: Uint8Array, warn: (message: string) => void): Pages | undefined {
  if (bytes.byteLength < 512) {
    warn(`${bytes.byteLength} bytes is too short for a Berkeley DB file`);
    return undefined;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = view.getUint32(12, true);
  const be = view.getUint32(12, false);
  if (le === BTREE_MAGIC || be === BTREE_MAGIC) {
    warn('a Berkeley DB btree database, not the hash database rpm keeps packages in');
    return undefined;
  }
  if (le !== HASH_MAGIC && be !== HASH_MAGIC) {
    warn('not a Berkeley DB hash database');
    return undefined;
  }
  const littleEndian = le === HASH_MAGIC;
  const version = view.getUint32(16, littleEndian);
  const pageSize = view.getUint32(20, littleEndian);
  if (version < 8 || version > 10) {
    warn(`unsupported Berkeley DB hash version ${version}`);
    return undefined;
  }
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    warn(`invalid page size ${pageSize}`);
    return undefined;
  }
  if (bytes[24] !== 0) {
    warn('encrypted Berkeley DB database');
    return undefined;
  }
  const lastPage = view.getUint32(32, littleEndian);
  const available = Math.floor(bytes.byteLength / pageSize);
  if (lastPage + 1 > available) warn(`truncated: ${lastPage + 1} pages declared, ${available} present`);
  return new Pages(bytes, littleEndian, pageSize, Math.min(lastPage + 1, available));
}

/** One key or value item: on the page (H_KEYDATA) or in overflow pages (H_OFFPAGE). */
function item(pages: Pages, at: number, length: number): Uint8Array {
  const type = pages.bytes[at];
  if (type === H_KEYDATA) return pages.bytes.subarray(at + 1, at + length);
  if (type === H_OFFPAGE && length >= 12) return overflow(pages, pages.u32(at + 4), pages.u32(at + 8));
  throw new Error(`unsupported item type ${type ?? '(none)'}`);
}

function overflow(pages: Pages, first: number, total: number): Uint8Array {
  // Each overflow page carries at least one byte, so a longer value cannot be in this file.
  if (total === 0 || total > pages.count * pages.pageSize) throw new Error(`overflow value of ${total} bytes`);
  const out = new Uint8Array(total);
  const seen = new Set<number>();
  let filled = 0;
  let pgno = first;
  while (filled < total) {
    if (pgno === 0 || pgno >= pages.count) throw new Error(`overflow chain leads to page ${pgno}, outside the file`);
    if (seen.has(pgno)) throw new Error(`overflow chain loops at page ${pgno}`);
    seen.add(pgno);
    const base = pgno * pages.pageSize;
    if (pages.bytes[base + 25] !== P_OVERFLOW) throw new Error(`overflow chain reaches page ${pgno}, which is not an overflow page`);
    const length = pages.u16(base + 22);
    if (length === 0 || PAGE_HEADER + length > pages.pageSize || length > total - filled) {
      throw new Error(`overflow page ${pgno} holds ${length} bytes`);
    }
    out.set(pages.bytes.subarray(base + PAGE_HEADER, base + PAGE_HEADER + length), filled);
    filled += length;
    pgno = pages.u32(base + 16);
  }
  return out;
}
