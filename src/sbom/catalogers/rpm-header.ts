/**
 * The rpm header blob as the rpm database stores it (headerExport form): a big-endian intro
 * `il` (index entries) and `dl` (data bytes), `il` 16-byte entries {tag, type, offset, count},
 * then `dl` bytes of data that the offsets point into. Installed headers start with an immutable
 * region entry (tag 63) and may end with "dribble" entries added at install time, which replace
 * region entries of the same tag, as rpm's headerImport does. Every offset and count is checked:
 * the blob comes from an untrusted image.
 */

/** rpm's own limits (hdrchkTags, hdrchkData in header.c). */
const MAX_INDEX_ENTRIES = 0xffff;
const MAX_DATA_BYTES = 0x00ffffff;

const TAG = {
  name: 1000,
  version: 1001,
  release: 1002,
  epoch: 1003,
  vendor: 1011,
  license: 1014,
  arch: 1022,
  sourceRpm: 1044,
  modularityLabel: 5096,
} as const;

const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;
const TYPE_MAX = 9;

type Field = Exclude<keyof typeof TAG, 'epoch'>;

export type RpmHeader = { readonly [K in Field]?: string } & { readonly epoch?: number };

interface Entry {
  readonly type: number;
  readonly offset: number;
  readonly count: number;
}

const WANTED = new Map<number, keyof typeof TAG>(Object.entries(TAG).map(([k, v]) => [v, k as keyof typeof TAG]));
const utf8 = new TextDecoder('utf-8');

/** The fields Portcullis needs from one header blob. Throws an Error saying what is wrong with a corrupt one. */
export function readRpmHeader(blob: Uint8Array): RpmHeader {
  if (blob.byteLength < 8) throw new Error(`header of ${blob.byteLength} bytes is too short`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const il = view.getUint32(0);
  const dl = view.getUint32(4);
  if (il < 1 || il > MAX_INDEX_ENTRIES) throw new Error(`header claims ${il} index entries`);
  if (dl > MAX_DATA_BYTES) throw new Error(`header claims ${dl} data bytes`);
  const dataStart = 8 + il * 16;
  if (dataStart + dl > blob.byteLength) throw new Error(`header needs ${dataStart + dl} bytes, has ${blob.byteLength}`);
  const data = blob.subarray(dataStart, dataStart + dl);

  const entries = new Map<keyof typeof TAG, Entry>();
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const field = WANTED.get(view.getInt32(at));
    if (field === undefined) continue;
    const entry = { type: view.getUint32(at + 4), offset: view.getInt32(at + 8), count: view.getUint32(at + 12) };
    if (entry.type > TYPE_MAX || entry.offset < 0 || entry.offset >= dl || entry.count < 1) {
      throw new Error(`header entry ${i} (tag ${view.getInt32(at)}) is out of bounds`);
    }
    entries.set(field, entry); // a later (dribble) entry replaces an earlier one
  }

  const out: { -readonly [K in Field]?: string } & { epoch?: number } = {};
  for (const [field, entry] of entries) {
    if (field === 'epoch') {
      if (entry.type !== TYPE_INT32 || entry.offset + 4 > dl) throw new Error('header EPOCH is not an int32 inside the data');
      out.epoch = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(entry.offset);
    } else {
      if (entry.type !== TYPE_STRING && entry.type !== TYPE_STRING_ARRAY && entry.type !== TYPE_I18NSTRING) {
        throw new Error(`header tag ${TAG[field]} is not a string`);
      }
      // Arrays and i18n tables: the first string is the value (the untranslated one for i18n).
      const end = data.indexOf(0, entry.offset);
      if (end === -1) throw new Error(`header tag ${TAG[field]} runs past the data`);
      out[field] = utf8.decode(data.subarray(entry.offset, end));
    }
  }
  return out;
}
