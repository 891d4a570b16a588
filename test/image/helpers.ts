/**
 * Shared helpers for the image reader tests: running the real tools (GNU tar, python3, umoci,
 * skopeo, zstd) asynchronously, feeding byte streams in chosen chunkings, hand-made tar headers
 * (for what real writers never produce: corrupt checksums, base-256 fields, truncation) and
 * collecting what `readTar` reports.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readTar, type TarHeader } from '../../src/image/index.js';

// ------------------------------------------------------------------ processes

export interface RunResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs a command without blocking the event loop (servers under test may live in this process). */
export function run(cmd: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Uint8Array; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? { ...process.env, LC_ALL: 'C.UTF-8' }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** Runs a command that must exit 0 (or one of `okCodes`); the error carries its output. */
export async function runOk(cmd: string, args: readonly string[], options: Parameters<typeof run>[2] & { okCodes?: readonly number[] } = {}): Promise<RunResult> {
  const r = await run(cmd, args, options);
  if (!(options.okCodes ?? [0]).includes(r.code ?? -1)) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.code}:\n${r.stderr}`);
  return r;
}

// ------------------------------------------------------------------ streams

export function sha256hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A small deterministic PRNG (mulberry32), for reproducible "random" chunkings. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Chunking = number | 'random' | 'small';

/**
 * The chunkings every parser test runs through: boundaries before, on and after a block, random
 * sizes from 1 to 3000 bytes ('random') and from 1 to 100 ('small').
 */
export const CHUNKINGS: readonly Chunking[] = [1, 7, 511, 512, 513, 65536, 'random', 'small'];

/** Yields `data` in pieces of `chunking` bytes (or seeded random sizes), each a fresh copy. */
export async function* chunked(data: Uint8Array, chunking: Chunking, seed = 1): AsyncGenerator<Uint8Array> {
  const next = prng(seed);
  let at = 0;
  while (at < data.length) {
    const n = chunking === 'random' ? 1 + Math.floor(next() * 3000) : chunking === 'small' ? 1 + Math.floor(next() * 100) : chunking;
    yield Buffer.from(data.subarray(at, at + n));
    at += n;
  }
}

export function chunkingName(c: Chunking): string {
  return c === 'random' ? 'random chunks' : c === 'small' ? 'small random chunks' : `${c}-byte chunks`;
}

// ------------------------------------------------------------------ reading tars

export interface ReadEntry {
  readonly header: TarHeader;
  /** Content of regular, non-sparse files (every byte the sink saw), else undefined. */
  readonly data?: Buffer;
  /** How many times the sink's end() ran. */
  readonly ends: number;
}

/** Reads a tar stream, capturing every regular file's content. */
export async function readAllEntries(source: AsyncIterable<Uint8Array>): Promise<{ entries: ReadEntry[]; endMarker: boolean; count: number }> {
  const entries: { header: TarHeader; parts: Buffer[] | undefined; ends: number }[] = [];
  const result = await readTar(source, (header) => {
    const e = { header, parts: header.type === 'file' && !header.sparse ? ([] as Buffer[]) : undefined, ends: 0 };
    entries.push(e);
    return {
      write(chunk) {
        assert.ok(e.parts !== undefined, `write() for ${header.name}, a ${header.type}${header.sparse ? ' (sparse)' : ''}`);
        e.parts.push(Buffer.from(chunk));
      },
      end() {
        e.ends += 1;
      },
    };
  });
  return {
    entries: entries.map((e) => ({ header: e.header, ends: e.ends, ...(e.parts !== undefined ? { data: Buffer.concat(e.parts) } : {}) })),
    endMarker: result.endMarker,
    count: result.entries,
  };
}

/** A comparable summary of what was read (no offsets: those are checked separately). */
export function summary(r: { entries: ReadEntry[]; endMarker: boolean }): unknown {
  return {
    endMarker: r.endMarker,
    entries: r.entries.map((e) => ({ ...e.header, data: e.data === undefined ? undefined : sha256hex(e.data) })),
  };
}

// ------------------------------------------------------------------ GNU tar listings

export interface ListedEntry {
  /** '-', 'd', 'l', 'h', 'p', 'c', 'b' as `tar -tv` prints the first mode character. */
  readonly kind: string;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly name: string;
  readonly link?: string;
}

/** `tar -tv --numeric-owner` of an archive, parsed (names must not contain " -> " or newlines). */
export async function tarListing(file: string): Promise<ListedEntry[]> {
  const r = await runOk('tar', ['--numeric-owner', '--quoting-style=literal', '--full-time', '-tvf', file]);
  const lines = r.stdout.toString('utf8').split('\n').filter((l) => l !== '');
  return lines.map((line) => {
    // -rw-r--r-- 0/0   3 2024-01-02 03:04:05 name
    // (fractional seconds vary in width and tar pads after them: names never start with a space here)
    const m = /^(\S)\S*\s+(\d+)\/(\d+)\s+(\S+)\s+\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d(?:\.\d+)?\s+(.*)$/s.exec(line);
    assert.ok(m !== null, `unparsed tar listing line: ${line}`);
    const [, kind, uid, gid, size, rest] = m as unknown as [string, string, string, string, string, string];
    let name = rest;
    let link: string | undefined;
    const arrow = rest.indexOf(' -> ');
    const hard = rest.indexOf(' link to ');
    if (kind === 'l' && arrow >= 0) {
      name = rest.slice(0, arrow);
      link = rest.slice(arrow + 4);
    } else if (kind === 'h' && hard >= 0) {
      name = rest.slice(0, hard);
      link = rest.slice(hard + ' link to '.length);
    }
    return { kind, uid: Number(uid), gid: Number(gid), size: /^\d+$/.test(size) ? Number(size) : 0, name, ...(link !== undefined ? { link } : {}) };
  });
}

/** The `tar -tv` mode character for a reader type. */
export function kindOf(type: TarHeader['type']): string {
  switch (type) {
    case 'file':
      return '-';
    case 'directory':
      return 'd';
    case 'symlink':
      return 'l';
    case 'hardlink':
      return 'h';
    case 'fifo':
      return 'p';
    case 'char':
      return 'c';
    case 'block':
      return 'b';
    default:
      return '?';
  }
}

// ------------------------------------------------------------------ hand-made tar blocks

export interface HeaderFields {
  name: string;
  /** Type flag character; '0' unless told. */
  flag?: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  /** 'ustar' (POSIX, with prefix), 'gnu' ("ustar  "), 'v7' (no magic). */
  magic?: 'ustar' | 'gnu' | 'v7';
  prefix?: string;
  /** Raw bytes for the 12-byte size field (base-256 tests). */
  rawSize?: Uint8Array;
  /** Raw bytes for the 8-byte uid field. */
  rawUid?: Uint8Array;
  /** Leaves the checksum wrong by this much. */
  checksumDelta?: number;
}

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, '0') + '\0';
}

/** One 512-byte tar header with a correct checksum (unless told otherwise). */
export function tarHeader(f: HeaderFields): Buffer {
  const h = Buffer.alloc(512);
  h.write(f.name, 0, 100, 'utf8');
  h.write(octal(f.mode ?? 0o644, 8), 100, 'latin1');
  if (f.rawUid !== undefined) Buffer.from(f.rawUid).copy(h, 108);
  else h.write(octal(f.uid ?? 0, 8), 108, 'latin1');
  h.write(octal(f.gid ?? 0, 8), 116, 'latin1');
  if (f.rawSize !== undefined) Buffer.from(f.rawSize).copy(h, 124);
  else h.write(octal(f.size ?? 0, 12), 124, 'latin1');
  h.write(octal(1_700_000_000, 12), 136, 'latin1');
  h.write(f.flag ?? '0', 156, 'latin1');
  if (f.linkname !== undefined) h.write(f.linkname, 157, 100, 'utf8');
  const magic = f.magic ?? 'ustar';
  if (magic === 'ustar') {
    h.write('ustar\u000000', 257, 'latin1');
    if (f.prefix !== undefined) h.write(f.prefix, 345, 155, 'utf8');
  } else if (magic === 'gnu') {
    h.write('ustar  \0', 257, 'latin1');
  }
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  sum += f.checksumDelta ?? 0;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** Content padded to whole blocks. */
export function padded(data: Uint8Array): Buffer {
  const rem = data.length % 512;
  return Buffer.concat([data, Buffer.alloc(rem === 0 ? 0 : 512 - rem)]);
}

/** A file entry: header plus padded content. */
export function fileEntry(name: string, data: Uint8Array | string, extra: Omit<HeaderFields, 'name' | 'size'> = {}): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
  return Buffer.concat([tarHeader({ ...extra, name, size: bytes.length }), padded(bytes)]);
}

/** The body of a pax extended header: `"%d %s=%s\n"` records, lengths in bytes. */
export function paxBody(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const tail = ` ${k}=${v}\n`;
    const tailLen = Buffer.byteLength(tail);
    let len = tailLen + 1;
    while (String(len).length + tailLen !== len) len = String(len).length + tailLen;
    parts.push(Buffer.from(`${len}${tail}`));
  }
  return Buffer.concat(parts);
}

/** A pax ('x', or 'g' for global) header entry. */
export function paxEntry(records: Record<string, string>, flag: 'x' | 'g' = 'x'): Buffer {
  const body = paxBody(records);
  return Buffer.concat([tarHeader({ name: 'PaxHeaders/x', flag, size: body.length }), padded(body)]);
}

/** Two zero blocks: the end-of-archive marker. */
export const END = Buffer.alloc(1024);

/** Base-256 encoding of `value` in a `length`-byte field (GNU). */
export function base256(value: bigint, length: number): Buffer {
  const b = Buffer.alloc(length);
  let v = value;
  for (let i = length - 1; i >= 1; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  b[0] = 0x80 | Number(v & 0x3fn);
  return b;
}

/** Resolves to the error a promise rejects with (fails when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  assert.fail('expected a rejection');
}

/** Drains an async iterable, returning all bytes. */
export async function drain(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}
