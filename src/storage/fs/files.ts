import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Digester } from '../../oci/index.js';

/** Bytes gathered before one writev: fewer syscalls than one write per 64 KiB socket chunk. */
const WRITE_BATCH = 1 << 20;

/**
 * Writes `source` to `fh` at its current position, feeding each chunk to `digester` first.
 * Resolves to the number of bytes written.
 */
export async function writeHashed(
  fh: fsp.FileHandle,
  source: AsyncIterable<Uint8Array>,
  digester: Digester | undefined,
  signal?: AbortSignal,
): Promise<number> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let total = 0;
  for await (const chunk of source) {
    signal?.throwIfAborted();
    digester?.update(chunk);
    pending.push(chunk);
    pendingBytes += chunk.byteLength;
    total += chunk.byteLength;
    if (pendingBytes >= WRITE_BATCH) {
      await writevAll(fh, pending);
      pending = [];
      pendingBytes = 0;
    }
  }
  signal?.throwIfAborted();
  if (pendingBytes > 0) await writevAll(fh, pending);
  return total;
}

async function writevAll(fh: fsp.FileHandle, chunks: Uint8Array[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    const want = rest.reduce((n, c) => n + c.byteLength, 0);
    const { bytesWritten } = await fh.writev(rest);
    if (bytesWritten === want) return;
    // Short write: drop what went out and retry the remainder.
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const c of rest) {
      if (skip >= c.byteLength) {
        skip -= c.byteLength;
        continue;
      }
      next.push(skip > 0 ? c.subarray(skip) : c);
      skip = 0;
    }
    rest = next;
  }
}

/** Renames `from` over `to` and makes the rename durable by syncing the target directory. */
export async function renameDurable(from: string, to: string): Promise<void> {
  const dir = dirname(to);
  await fsp.mkdir(dir, { recursive: true });
  await fsp.rename(from, to);
  await syncDir(dir);
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

export async function removeQuietly(path: string): Promise<void> {
  await fsp.rm(path, { force: true });
}
