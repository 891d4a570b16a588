import type { Readable } from 'node:stream';
import type { Digest } from '../oci/index.js';

/** Inclusive byte range, as in HTTP Range headers. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface StoredBlob {
  readonly digest: Digest;
  readonly size: number;
}

/**
 * Content-addressed blob storage. Implementations must never expose a partially written blob:
 * `put` and `UploadStore.finish` verify the digest before the content becomes readable.
 */
export interface BlobStore {
  /** Size of the blob, or undefined when absent. */
  stat(digest: Digest): Promise<number | undefined>;
  /** A stream of the blob (or of `range` of it), or undefined when absent. */
  open(digest: Digest, range?: ByteRange): Promise<Readable | undefined>;
  /** Streams `source` into the store, verifying it hashes to `expected`; rejects with DIGEST_INVALID otherwise. */
  put(expected: Digest, source: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<StoredBlob>;
  /** Removes the blob; false when it was not there. */
  delete(digest: Digest): Promise<boolean>;
}

export interface PutOptions {
  readonly signal?: AbortSignal;
  /** Declared length (Content-Length); a body of another length is SIZE_INVALID. */
  readonly expectedSize?: number;
}

/** Where `CopyableBlob.copyTo` writes: `callback` says the chunk was handed on and its memory may be reused. */
export interface ChunkSink {
  write(chunk: Uint8Array, callback: (err?: Error | null) => void): boolean;
}

/**
 * A blob stream that can also copy itself into a sink through a fixed pair of reused buffers.
 * Serving a large blob this way allocates nothing per chunk, so it makes no garbage for the
 * collector to trace (with per-chunk buffers, GC took more time than the socket writes).
 */
export interface CopyableBlob extends Readable {
  /** Copies the whole stream into `sink`, then releases the source; rejects when `signal` aborts. */
  copyTo(sink: ChunkSink, signal: AbortSignal): Promise<void>;
}

export function isCopyableBlob(stream: Readable): stream is CopyableBlob {
  return typeof (stream as Partial<CopyableBlob>).copyTo === 'function';
}

/** Optional capability, used by garbage collection to find blobs no metadata knows. */
export interface BlobLister {
  list(): AsyncIterable<{ readonly digest: Digest; readonly size: number; readonly modifiedAt: number }>;
}

/**
 * Resumable upload sessions (the POST/PATCH/PUT flow). Data of a session is staged out of sight
 * of readers until `finish` verifies it and places it in the blob store.
 */
export interface UploadStore {
  begin(id: string): Promise<void>;
  /** Appends `source` at `offset`, which must equal the current size. Resolves to the new size. */
  append(id: string, offset: number | undefined, source: AsyncIterable<Uint8Array>, options?: { signal?: AbortSignal }): Promise<number>;
  /** Current size, or undefined when the session has no staged data here. */
  size(id: string): Promise<number | undefined>;
  /** Verifies the staged data hashes to `expected`, moves it into the blob store and ends the session. */
  finish(id: string, expected: Digest): Promise<StoredBlob>;
  /** Drops the staged data; a no-op when there is none. */
  abort(id: string): Promise<void>;
}

/**
 * Optional capability: removes staging files that writes left behind when their process died
 * (nothing else ever sees them). Resolves to the number removed.
 */
export interface StagingSweeper {
  sweepStaging(before: number): Promise<number>;
}

export function isStagingSweeper(store: unknown): store is StagingSweeper {
  return typeof (store as Partial<StagingSweeper>).sweepStaging === 'function';
}

export function isBlobLister(store: unknown): store is BlobLister {
  return typeof (store as Partial<BlobLister>).list === 'function';
}
