/**
 * Reads the header blobs of rpm's "ndb" package database (`Packages.db`, rpm ≥ 4.16, used by
 * SUSE), as laid out by lib/backend/ndb/rpmpkg.c. All numbers are little-endian:
 * - a 32-byte header: magic "RpmP", version 0, generation, number of 4 KiB slot pages, next index;
 * - the slot pages (the header takes the first two slots): 16-byte slots of magic "Slot",
 *   package index, block offset and block count (blocks are 16 bytes; offset 0 = free slot);
 * - at each slot's blocks, a blob: magic "BlbS", package index, timestamp, length, the header
 *   blob, zero padding, then a tail of adler32, length, magic "BlbE" ending the last block.
 */

const DB_MAGIC = 0x506d7052; // "RpmP"
const SLOT_MAGIC = 0x746f6c53; // "Slot"
const BLOB_HEAD_MAGIC = 0x53626c42; // "BlbS"
const BLOB_TAIL_MAGIC = 0x45626c42; // "BlbE"
const HEADER_SIZE = 32;
const SLOT_PAGE = 4096;
const SLOT_SIZE = 16;
const BLOCK = 16;
const BLOB_HEAD = 16;
const BLOB_TAIL = 12;

/** The header blobs of the database, one per used slot. Bad slots and blobs go to `warn` and are skipped. */
export function* ndbBlobs(bytes: Uint8Array, warn: (message: string) => void): Generator<Uint8Array> {
  if (bytes.byteLength < HEADER_SIZE) {
    warn(`${bytes.byteLength} bytes is too short for an ndb database`);
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number): number => view.getUint32(at, true);
  if (u32(0) !== DB_MAGIC) {
    warn('not an rpm ndb database');
    return;
  }
  if (u32(4) !== 0) {
    warn(`unsupported ndb version ${u32(4)}`);
    return;
  }
  const declared = u32(12);
  const slotPages = Math.min(declared, Math.floor(bytes.byteLength / SLOT_PAGE));
  if (slotPages < declared) warn(`truncated: ${declared} slot pages declared, ${slotPages} present`);
  // Blobs live after the slot pages, in blocks.
  const firstBlock = declared * (SLOT_PAGE / BLOCK);
  const blocks = Math.floor(bytes.byteLength / BLOCK);
  const seen = new Set<number>();
  for (let at = HEADER_SIZE; at < slotPages * SLOT_PAGE; at += SLOT_SIZE) {
    const slot = (at - HEADER_SIZE) / SLOT_SIZE;
    if (u32(at) !== SLOT_MAGIC) {
      warn(`slot ${slot}: bad magic`);
      continue;
    }
    const index = u32(at + 4);
    const blockOffset = u32(at + 8);
    const blockCount = u32(at + 12);
    if (blockOffset === 0) continue;
    if (index === 0 || blockOffset < firstBlock || blockCount < 2 || blockOffset + blockCount > blocks) {
      warn(`slot ${slot}: package ${index} at blocks ${blockOffset}+${blockCount} is outside the data`);
      continue;
    }
    if (seen.has(index)) {
      warn(`slot ${slot}: package ${index} appears twice`);
      continue;
    }
    seen.add(index);
    const start = blockOffset * BLOCK;
    const length = u32(start + 12);
    const tail = start + blockCount * BLOCK - BLOB_TAIL;
    if (u32(start) !== BLOB_HEAD_MAGIC || u32(start + 4) !== index || Math.ceil((BLOB_HEAD + length + BLOB_TAIL) / BLOCK) !== blockCount || u32(tail + 4) !== length || u32(tail + 8) !== BLOB_TAIL_MAGIC) {
      warn(`slot ${slot}: package ${index} has a corrupt blob`);
      continue;
    }
    yield bytes.subarray(start + BLOB_HEAD, start + BLOB_HEAD + length);
  }
}
