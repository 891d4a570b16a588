/**
 * Reading a feed file as it was published: plain, gzip (`.json.gz`, `updateinfo.xml.gz`) or bzip2
 * (Oracle's `com.oracle.elsa-all.xml.bz2`). Node has gzip; bzip2 is `unbzip2-stream` (pure
 * JavaScript, streaming, the decompressor of `decompress-tarbz2`), loaded on the first `.bz2`.
 */
import { createReadStream } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { createGunzip } from 'node:zlib';

export type Compression = 'gzip' | 'bzip2';

const requireLazy = createRequire(import.meta.url);
type Bunzip2 = () => NodeJS.ReadWriteStream;
let bunzip2Lib: Bunzip2 | undefined;
const bunzip2 = (): Bunzip2 => (bunzip2Lib ??= requireLazy('unbzip2-stream') as Bunzip2);

/** The compression the first bytes of a file say it has: gzip's 1f 8b, bzip2's `BZh1`…`BZh9`. */
export function compressionOf(head: Uint8Array): Compression | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  return undefined;
}

/**
 * A file's content, decompressed when `compression` says so. Errors of every stage (the file, the
 * decompressor) end the stream with that error; destroying the result releases the file.
 */
export function openContent(path: string, compression: Compression | undefined): Readable {
  const file = createReadStream(path);
  if (compression === undefined) return file;
  if (compression === 'gzip') {
    const gunzip = createGunzip();
    file.on('error', (err: Error) => gunzip.destroy(err));
    // pipe() does not pass a destroy upstream: a reader that stops early (a look at the head)
    // would leave the file open.
    gunzip.on('close', () => file.destroy());
    return file.pipe(gunzip);
  }
  // unbzip2-stream is a classic `through` stream: piped into a PassThrough for async iteration.
  const through = bunzip2()();
  const out = new PassThrough();
  file.on('error', (err: Error) => out.destroy(err));
  through.on('error', (err: Error) => out.destroy(err));
  out.on('close', () => {
    file.unpipe(through as unknown as NodeJS.WritableStream);
    file.destroy();
  });
  file.pipe(through);
  through.pipe(out);
  return out;
}

/** Reads a compressed file to its end (a download check): rejects when it is truncated or corrupt. */
export async function drain(path: string, compression: Compression): Promise<void> {
  for await (const _ of openContent(path, compression)) void _;
}

/** The end of an error line for a file cut short after `n` units were read: those are kept. */
export function restSkipped(n: number, units: string): string {
  return n === 0 ? ': the file is skipped' : `: the ${n} ${units} before are kept, the rest is skipped`;
}

/** `HTTP 503 Service Unavailable`: a feed server's status as a person reads it. */
export function describeStatus(status: number): string {
  const phrase = STATUS_CODES[status];
  return `HTTP ${status}${phrase !== undefined ? ` ${phrase}` : ''}`;
}
