import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OciError, type OciErrorCode } from '../../oci/index.js';
import { isCopyableBlob, StorageError } from '../../storage/index.js';
import { ArtifactWriteError } from '../artifact-writer.js';

export type Headers = Record<string, string | number>;

/** What a handler returns; one place (`send`) writes it. */
export interface Reply {
  readonly status: number;
  readonly headers?: Headers;
  readonly body?: Buffer | string | Readable | object;
}

export const DISTRIBUTION_HEADERS = { 'Docker-Distribution-API-Version': 'registry/2.0' } as const;

export async function send(req: IncomingMessage, res: ServerResponse, reply: Reply): Promise<void> {
  const headers: Headers = { ...DISTRIBUTION_HEADERS, ...reply.headers };
  const { body } = reply;
  if (body === undefined) {
    if (headers['Content-Length'] === undefined) headers['Content-Length'] = 0;
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  if (body instanceof Readable) {
    res.writeHead(reply.status, headers);
    if (req.method === 'HEAD') {
      body.destroy();
      res.end();
      return;
    }
    if (isCopyableBlob(body)) {
      // Reused buffers: large pulls make no garbage (see CopyableBlob).
      const gone = new AbortController();
      const onClose = (): void => {
        if (!res.writableFinished) gone.abort(new Error('the client closed the connection'));
      };
      res.once('close', onClose);
      try {
        await body.copyTo(res, gone.signal);
        res.end();
      } finally {
        res.off('close', onClose);
      }
      return;
    }
    await pipeline(body, res);
    return;
  }
  let bytes: Buffer;
  if (Buffer.isBuffer(body)) bytes = body;
  else if (typeof body === 'string') bytes = Buffer.from(body);
  else {
    bytes = Buffer.from(JSON.stringify(body));
    headers['Content-Type'] ??= 'application/json';
  }
  headers['Content-Length'] ??= bytes.byteLength;
  res.writeHead(reply.status, headers);
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

interface WireError {
  code: OciErrorCode;
  message: string;
  detail?: unknown;
}

/** Maps any error to the spec's error body and status; unknown failures become a bare 500. */
export function toWireError(err: unknown): { status: number; errors: WireError[]; headers: Headers; internal: boolean } {
  if (err instanceof OciError) {
    const errors = [err, ...err.related].map((e) => ({ code: e.code, message: e.message, ...(e.detail !== undefined ? { detail: e.detail } : {}) }));
    return { status: err.status, errors, headers: err.headers, internal: false };
  }
  if (err instanceof ArtifactWriteError) return toWireError(ociErrorOf(err));
  if (err instanceof StorageError) {
    switch (err.code) {
      case 'DIGEST_MISMATCH':
        return toWireError(new OciError('DIGEST_INVALID', err.message, withDetail(err)));
      case 'SIZE_MISMATCH':
        return toWireError(new OciError('SIZE_INVALID', err.message, withDetail(err)));
      case 'UPLOAD_UNKNOWN':
        return toWireError(new OciError('BLOB_UPLOAD_UNKNOWN', err.message));
      case 'NOT_FOUND':
        return toWireError(new OciError('NAME_UNKNOWN', err.message));
      case 'OFFSET_MISMATCH':
      case 'CONFLICT':
      case 'SCHEMA_TOO_NEW':
      case 'UNAVAILABLE':
        break;
    }
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return { status: 500, errors: [{ code: 'UNSUPPORTED', message: 'the registry is out of storage space: nothing was stored; try again once space is freed' }], headers: {}, internal: true };
  }
  return { status: 500, errors: [{ code: 'UNSUPPORTED', message: 'internal error: the registry could not complete the request; see its log' }], headers: {}, internal: true };
}

/** A refused or failed write, in the spec's terms. */
function ociErrorOf(err: ArtifactWriteError): OciError {
  const detail = err.detail === undefined ? {} : { detail: { ...err.detail } };
  switch (err.code) {
    case 'BLOB_BUSY':
      return new OciError('TOOMANYREQUESTS', err.message, { ...detail, headers: { 'Retry-After': '5' } });
    case 'BLOB_GONE':
      return new OciError('BLOB_UPLOAD_INVALID', err.message, detail);
    case 'PROJECT_UNKNOWN':
      return new OciError('NAME_UNKNOWN', err.message, detail);
    case 'DENIED':
      return new OciError('DENIED', err.message, detail);
    case 'REFERENCED':
      return new OciError('DENIED', err.message, { ...detail, status: 409 });
    case 'UNKNOWN':
      return new OciError('MANIFEST_UNKNOWN', err.message, detail);
    case 'REFERENCES_MISSING': {
      const blobs = (err.detail?.['blobs'] ?? []) as string[];
      const manifests = (err.detail?.['manifests'] ?? []) as string[];
      const repository = String(err.detail?.['repository'] ?? 'the repository');
      const errors = [...blobs, ...manifests].map((d) => new OciError('MANIFEST_BLOB_UNKNOWN', `${manifests.includes(d) ? 'manifest' : 'blob'} ${d} is not in ${repository}: push it before the manifest that references it`, { detail: { digest: d } }));
      const [first, ...rest] = errors;
      return first === undefined ? new OciError('MANIFEST_BLOB_UNKNOWN', err.message) : new OciError(first.code, first.message, { ...(first.detail !== undefined ? { detail: { ...first.detail } } : {}), related: rest });
    }
  }
}

function withDetail(err: StorageError): { detail?: Record<string, unknown> } {
  return err.detail === undefined ? {} : { detail: { ...err.detail } };
}

/**
 * The request body as chunks. A reader that stops early (a limit, a failed write) leaves the
 * request as it is: destroying it would take the socket, and with it the answer, away. The
 * connection is closed after the answer instead (see `hasUnreadBody`).
 */
export function bodyChunks(req: IncomingMessage): AsyncIterable<Buffer> {
  return req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
}

/** Reads a whole body up to `limit` bytes; larger bodies fail with `onTooLarge`. */
export async function readBody(req: IncomingMessage, limit: number, onTooLarge: () => OciError): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw onTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of bodyChunks(req)) {
    size += (chunk as Buffer).byteLength;
    if (size > limit) throw onTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/** True when the request may still carry body bytes we have not read. */
export function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.readableEnded || req.complete) return false;
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}

/** Parses a single `Range: bytes=a-b` (or `bytes=a-`, `bytes=-n`) against `size`. */
export function parseRangeHeader(value: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (m === null || (m[1] === '' && m[2] === '')) return undefined; // multi-range or junk: serve it whole
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** Upload chunk position from `Content-Range: <start>-<end>` (also accepts a `bytes ` or `bytes=` prefix). */
export function parseContentRange(value: string | undefined): { start: number; end: number } | 'invalid' | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(value.trim());
  if (m === null) return 'invalid';
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return 'invalid';
  return { start, end };
}
