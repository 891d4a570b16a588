/**
 * The cataloger port. A cataloger looks at one file at a time: it says from the path, size and mode
 * (and, for binaries, the first bytes) whether it wants the file, then turns the file into findings.
 * It does no I/O of its own: the content comes through `CatalogFile`, so the same cataloger reads a
 * layer streamed from a registry, a directory, or a buffer in a test. One file's findings depend on
 * that file alone, which is what lets the results of a layer be cached by the layer's digest.
 */
import type { Finding } from './model.js';

/** A file handed to a cataloger: its whole content (or its head, see `Cataloger.headBytes`). */
export interface CatalogFile {
  /** Path inside the image or directory: relative, '/'-separated, normalized, no leading slash. */
  readonly path: string;
  /** Size of the file as stored in the image (may exceed what `read` can reach with `headBytes`). */
  readonly size: number;
  /** Permission bits (0o755, ...). */
  readonly mode: number;
  /** Up to `length` bytes from `offset`; shorter at the end of what is available. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface CatalogContext {
  /** A non-fatal problem with this file; the cataloger goes on with what it can read. */
  warn(message: string): void;
}

export interface Cataloger {
  /** Short stable name: dpkg, apk, rpm, os-release, npm, python, go, java, ... */
  readonly id: string;
  /** Bump when the findings for the same file change: it is part of the layer-cache key. */
  readonly version: number;
  /** Whether to read this file, from its path, size and mode alone. Must be cheap: it sees every file. */
  wants(path: string, size: number, mode: number): boolean;
  /** A check of the first bytes (up to 64) of a wanted file, for binaries (ELF, zip magic). */
  sniff?(head: Uint8Array): boolean;
  /** Larger files are not read; the reader warns with their path. Default `DEFAULT_MAX_BYTES`. */
  readonly maxBytes?: number;
  /** When set, a file of any size is accepted but only its first `headBytes` bytes are kept. */
  readonly headBytes?: number;
  /** Findings of one file. Throwing is allowed: the reader turns it into a warning for this file. */
  parse(file: CatalogFile, ctx: CatalogContext): Promise<readonly Finding[]>;
}

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** A `CatalogFile` over bytes in memory: for tests, nested archives, and small files. */
export function fileFromBytes(path: string, bytes: Uint8Array, mode = 0o644, size = bytes.byteLength): CatalogFile {
  return {
    path,
    size,
    mode,
    read: (offset, length) => Promise.resolve(bytes.subarray(Math.max(0, offset), Math.max(0, Math.min(bytes.byteLength, offset + length)))),
  };
}

/** The whole available content of a file. */
export function bytesOf(file: CatalogFile): Promise<Uint8Array> {
  return file.read(0, file.size);
}

/** The content as UTF-8 text (a BOM dropped). */
export async function textOf(file: CatalogFile): Promise<string> {
  const text = Buffer.from(await bytesOf(file)).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
