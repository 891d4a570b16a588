import { randomUUID } from 'node:crypto';
import { OciError, isRepositoryName, parseDigest, parseRepositoryName, type Digest } from '../../oci/index.js';
import { StorageError, type StoredBlob } from '../../storage/index.js';
import { authorize, decide, type RequestContext } from './context.js';
import { bodyChunks, parseContentRange, parseRangeHeader, type Reply } from './http.js';

const BLOB_CACHE = 'max-age=31536000';

export async function getBlob(ctx: RequestContext, name: string, rawDigest: string): Promise<Reply> {
  await authorize(ctx, name, 'pull');
  const digest = parseDigest(rawDigest).digest;
  const { deps } = ctx;
  const now = deps.now();
  const size = await deps.meta.blobs.linked(name, digest, ctx.req.method === 'HEAD' ? { now, before: now - deps.options.touchAfterMs } : undefined);
  if (size === undefined) throw blobUnknown(digest);
  const headers: Record<string, string | number> = {
    'Docker-Content-Digest': digest,
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
    'Cache-Control': BLOB_CACHE,
  };
  if (ctx.req.method === 'HEAD') return { status: 200, headers: { ...headers, 'Content-Length': size } };

  const range = parseRangeHeader(ctx.req.headers.range, size);
  if (range === 'unsatisfiable') {
    return { status: 416, headers: { 'Content-Range': `bytes */${size}`, 'Content-Type': 'application/json' }, body: { errors: [{ code: 'BLOB_UNKNOWN', message: `range not satisfiable for a blob of ${size} bytes` }] } };
  }
  const stream = await deps.blobs.open(digest, range);
  if (stream === undefined) {
    deps.log.error({ digest, repository: name }, 'blob is in the metadata store but its content is missing');
    throw blobUnknown(digest);
  }
  if (range !== undefined) {
    return { status: 206, headers: { ...headers, 'Content-Range': `bytes ${range.start}-${range.end}/${size}`, 'Content-Length': range.end - range.start + 1 }, body: stream };
  }
  return { status: 200, headers: { ...headers, 'Content-Length': size }, body: stream };
}

export async function deleteBlob(ctx: RequestContext, name: string, rawDigest: string): Promise<Reply> {
  await authorize(ctx, name, 'delete');
  const digest = parseDigest(rawDigest).digest;
  if (!(await ctx.deps.meta.blobs.unlink(name, digest))) throw blobUnknown(digest);
  ctx.deps.log.info({ repository: name, digest }, 'blob unlinked');
  return { status: 202, headers: { 'Docker-Content-Digest': digest } };
}

/** POST /v2/<name>/blobs/uploads/: a mount, a monolithic upload (?digest=) or a new session. */
export async function startUpload(ctx: RequestContext, name: string): Promise<Reply> {
  await authorize(ctx, name, 'push');
  const { deps, url } = ctx;
  await ensureRepository(ctx, name);

  const mount = url.searchParams.get('mount');
  const from = url.searchParams.get('from');
  if (mount !== null && from !== null && from !== name) {
    const mounted = await tryMount(ctx, name, from, mount);
    if (mounted !== undefined) return mounted;
  }

  const digestQuery = url.searchParams.get('digest');
  if (digestQuery !== null) {
    const digest = parseDigest(digestQuery).digest;
    const stored = await storeMonolithic(ctx, name, digest);
    return created(name, stored.digest);
  }

  const id = randomUUID();
  await deps.uploads.begin(id);
  await deps.meta.uploads.create(id, name, deps.now());
  return { status: 202, headers: uploadHeaders(name, id, 0) };
}

async function tryMount(ctx: RequestContext, name: string, from: string, rawDigest: string): Promise<Reply | undefined> {
  if (!isRepositoryName(from)) return undefined;
  let digest: Digest;
  try {
    digest = parseDigest(rawDigest).digest;
  } catch {
    return undefined;
  }
  // Only a caller who may read the source gets its blob; otherwise this is an ordinary upload.
  if ((await decide(ctx, from, 'pull')) !== 'allowed') return undefined;
  const { deps } = ctx;
  const size = await deps.writer.mountBlob(from, name, digest);
  if (size === undefined) return undefined;
  deps.log.info({ repository: name, from, digest }, 'blob mounted');
  return created(name, digest);
}

async function storeMonolithic(ctx: RequestContext, name: string, digest: Digest): Promise<StoredBlob> {
  const { deps, req } = ctx;
  const declared = declaredLength(ctx);
  if (declared !== undefined && declared > deps.options.maxBlobBytes) throw blobTooLarge(deps.options.maxBlobBytes);
  const stored = await deps.writer.putBlob(name, digest, limited(bodyChunks(req), deps.options.maxBlobBytes, deps.options.maxBlobBytes), declared === undefined ? {} : { expectedSize: declared });
  deps.log.info({ repository: name, digest, size: stored.size }, 'blob stored');
  return stored;
}

/** Resolves an upload id to its session, checking it belongs to `name`. */
async function session(ctx: RequestContext, name: string, id: string): Promise<void> {
  const found = await ctx.deps.meta.uploads.get(id);
  if (found === undefined || found.repository !== name) throw new OciError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is unknown to ${name}: it finished, was cancelled or expired; start a new upload`, { detail: { uuid: id } });
}

export async function uploadStatus(ctx: RequestContext, name: string, id: string): Promise<Reply> {
  await authorize(ctx, name, 'push');
  await session(ctx, name, id);
  const size = await ctx.deps.uploads.size(id);
  if (size === undefined) throw new OciError('BLOB_UPLOAD_UNKNOWN', `upload ${id} has no data here; start a new upload`);
  return { status: 204, headers: uploadHeaders(name, id, size) };
}

export async function patchUpload(ctx: RequestContext, name: string, id: string): Promise<Reply> {
  await authorize(ctx, name, 'push');
  await session(ctx, name, id);
  const size = await appendChunk(ctx, name, id);
  await ctx.deps.meta.uploads.touch(id, ctx.deps.now());
  return { status: 202, headers: uploadHeaders(name, id, size) };
}

export async function finishUpload(ctx: RequestContext, name: string, id: string): Promise<Reply> {
  await authorize(ctx, name, 'push');
  await session(ctx, name, id);
  const { deps, url } = ctx;
  const raw = url.searchParams.getAll('digest');
  if (raw.length === 0) throw new OciError('DIGEST_INVALID', 'the digest query parameter is required to complete an upload');
  const digests = raw.map((d) => parseDigest(d).digest);
  const digest = digests[0]!;
  if (digests.some((d) => parseDigest(d).algorithm === parseDigest(digest).algorithm && d !== digest)) {
    throw new OciError('DIGEST_INVALID', 'conflicting digest parameters');
  }
  const hasBody = ctx.req.headers['transfer-encoding'] !== undefined || (declaredLength(ctx) ?? 0) > 0;
  const size = hasBody ? await appendChunk(ctx, name, id) : await deps.uploads.size(id);
  if (size === undefined) throw new OciError('BLOB_UPLOAD_UNKNOWN', `upload ${id} has no data here; start a new upload`);
  try {
    await deps.writer.finishUpload(name, id, digest);
  } catch (err) {
    if (err instanceof StorageError && err.code === 'DIGEST_MISMATCH') {
      await deps.meta.uploads.delete(id);
      throw new OciError('DIGEST_INVALID', err.message, { detail: { digest } });
    }
    throw err;
  }
  await deps.meta.uploads.delete(id);
  deps.log.info({ repository: name, digest, size }, 'blob stored');
  return created(name, digest);
}

export async function cancelUpload(ctx: RequestContext, name: string, id: string): Promise<Reply> {
  await authorize(ctx, name, 'push');
  await session(ctx, name, id);
  await ctx.deps.uploads.abort(id);
  await ctx.deps.meta.uploads.delete(id);
  return { status: 204 };
}

async function appendChunk(ctx: RequestContext, name: string, id: string): Promise<number> {
  const { deps, req } = ctx;
  const range = parseContentRange(req.headers['content-range']);
  const current = await deps.uploads.size(id);
  if (current === undefined) throw new OciError('BLOB_UPLOAD_UNKNOWN', `upload ${id} has no data here; start a new upload`);
  if (range === 'invalid') throw rangeInvalid(name, id, current, `malformed Content-Range "${req.headers['content-range']}": expected <start>-<end>`);
  const declared = declaredLength(ctx);
  if (range !== undefined && declared !== undefined && range.end - range.start + 1 !== declared) {
    throw rangeInvalid(name, id, current, `Content-Range ${range.start}-${range.end} does not match Content-Length ${declared}`);
  }
  const remaining = deps.options.maxBlobBytes - current;
  if (declared !== undefined && declared > remaining) throw blobTooLarge(deps.options.maxBlobBytes);
  try {
    const size = await deps.uploads.append(id, range?.start, limited(bodyChunks(req), remaining, deps.options.maxBlobBytes));
    if (range !== undefined && size !== range.end + 1) {
      throw new OciError('SIZE_INVALID', `the chunk was ${size - range.start} bytes, not the ${range.end - range.start + 1} its Content-Range declares`);
    }
    return size;
  } catch (err) {
    if (err instanceof StorageError && err.code === 'OFFSET_MISMATCH') throw rangeInvalid(name, id, current, err.message);
    throw err;
  }
}

export async function ensureRepository(ctx: RequestContext, name: string): Promise<void> {
  const { project } = parseRepositoryName(name);
  const id = await ctx.deps.meta.artifacts.ensureRepository(name, project, ctx.deps.now());
  if (id === undefined) throw new OciError('NAME_UNKNOWN', `project "${project}" does not exist: create it first (portcullis project create ${project})`, { detail: { name } });
}

function declaredLength(ctx: RequestContext): number | undefined {
  const v = ctx.req.headers['content-length'];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** The request body, failing with 413 once it passes `allowed` bytes (what is left of `maxBlobBytes`). */
async function* limited(source: AsyncIterable<Uint8Array>, allowed: number, maxBlobBytes: number): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of source) {
    seen += chunk.byteLength;
    if (seen > allowed) throw blobTooLarge(maxBlobBytes);
    yield chunk;
  }
}

function blobTooLarge(limit: number): OciError {
  return new OciError('SIZE_INVALID', `blob exceeds the registry's limit of ${limit} bytes (registry.maxBlobSize)`, { status: 413 });
}

function uploadHeaders(name: string, id: string, size: number): Record<string, string | number> {
  return {
    Location: `/v2/${name}/blobs/uploads/${id}`,
    Range: `0-${Math.max(0, size - 1)}`,
    'Docker-Upload-UUID': id,
    'Blob-Upload-Session-ID': id,
    'Content-Length': 0,
  };
}

function created(name: string, digest: Digest): Reply {
  return { status: 201, headers: { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 } };
}

function rangeInvalid(name: string, id: string, size: number, message: string): OciError {
  return new OciError('RANGE_INVALID', message, { headers: { Location: `/v2/${name}/blobs/uploads/${id}`, Range: `0-${Math.max(0, size - 1)}`, 'Docker-Upload-UUID': id } });
}

function blobUnknown(digest: Digest): OciError {
  return new OciError('BLOB_UNKNOWN', `blob unknown to registry: ${digest}`, { detail: { digest } });
}
