/**
 * A small raw-HTTP client for the OCI Distribution API, for tests: requests with explicit
 * headers, blob pushes (monolithic, POST+PUT, chunked, streamed), manifests, test images,
 * bearer tokens. Digests are computed here with node:crypto, never with the code under test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { startTestServer, type TestServer, type TestServerOptions } from './server.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

export type Algorithm = 'sha256' | 'sha512';

/** Where requests go and with which `Authorization` header (none when undefined). */
export interface Target {
  readonly url: string;
  readonly auth?: string | undefined;
}

export type Body = Uint8Array | string | ReadableStream<Uint8Array>;

export interface RequestOptions {
  readonly headers?: Record<string, string> | undefined;
  readonly body?: Body | undefined;
  /** Overrides the target's credentials; null sends none. */
  readonly auth?: string | null | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly detail?: unknown;
}

// ------------------------------------------------------------------ bytes and digests

export function randomBlob(size: number): Buffer {
  return randomBytes(size);
}

export function digestOf(data: Uint8Array | string, algorithm: Algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Where the filesystem blob store keeps `digest` under a test server's data directory. */
export function blobPath(dataDir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return join(dataDir, 'storage', 'blobs', algorithm, hex.slice(0, 2), hex);
}

export async function bytesOf(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

/** A stream of `data` in `pieces` parts: fetch sends it with Transfer-Encoding: chunked. */
export function streamOf(data: Uint8Array, pieces = 4): ReadableStream<Uint8Array> {
  const step = Math.max(1, Math.ceil(data.byteLength / pieces));
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= data.byteLength) {
        controller.close();
        return;
      }
      controller.enqueue(data.subarray(at, at + step));
      at += step;
    },
  });
}

/**
 * A stream that sends `first`, then waits for `gate` before sending `rest` (or erroring, when
 * the gate rejects): a request body that is held open mid-way.
 */
export function gatedStream(first: Uint8Array, gate: Promise<void>, rest: Uint8Array): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(first);
    },
    async pull(controller) {
      if (done) return;
      done = true;
      await gate;
      try {
        controller.enqueue(rest);
        controller.close();
      } catch {
        // The request was aborted and its body cancelled meanwhile.
      }
    },
  });
}

export interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

// ------------------------------------------------------------------ requests

export function request(target: Target, method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  const auth = options.auth === undefined ? target.auth : options.auth;
  if (auth !== null && auth !== undefined) headers['Authorization'] = auth;
  const init: RequestInit = { method, headers, redirect: 'manual' };
  if (options.signal !== undefined) init.signal = options.signal;
  if (options.body !== undefined) {
    init.body = options.body;
    if (options.body instanceof ReadableStream) init.duplex = 'half';
  }
  return fetch(new URL(path, target.url), init);
}

/** `location` (absolute or a path, as Location headers come) with query parameters set. */
export function withQuery(location: string, params: Record<string, string>): string {
  const u = new URL(location, 'http://placeholder.invalid');
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return location.startsWith('http') ? u.toString() : `${u.pathname}${u.search}`;
}

/** The errors of an error response; fails unless the body has the spec's shape. */
export async function errorsOf(res: Response): Promise<WireError[]> {
  const text = await res.text();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`${res.status} response is not JSON: ${text.slice(0, 200)}`);
  }
  const errors = (doc as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) throw new Error(`${res.status} response has no errors array: ${text.slice(0, 200)}`);
  for (const e of errors as WireError[]) {
    if (typeof e.code !== 'string' || typeof e.message !== 'string') throw new Error(`malformed error entry: ${JSON.stringify(e)}`);
  }
  return errors as WireError[];
}

/** Fails with a readable message unless `res` has `status`; the body is included for errors. */
export async function expectStatus(res: Response, status: number, what = ''): Promise<void> {
  if (res.status === status) return;
  const body = await res.text().catch(() => '');
  throw new Error(`${what ? `${what}: ` : ''}expected ${status}, got ${res.status} ${body.slice(0, 300)}`);
}

// ------------------------------------------------------------------ blobs

export type PushMode = 'monolithic' | 'post-put' | 'chunked' | 'streamed';

export interface PushBlobOptions {
  readonly mode?: PushMode;
  /** Chunk size for 'chunked' (default: three chunks). */
  readonly chunkSize?: number;
  readonly algorithm?: Algorithm;
}

/** Starts an upload session; resolves to its Location. */
export async function startUpload(target: Target, name: string): Promise<string> {
  const res = await request(target, 'POST', `/v2/${name}/blobs/uploads/`);
  await expectStatus(res, 202, `POST /v2/${name}/blobs/uploads/`);
  const location = res.headers.get('location');
  if (location === null) throw new Error('upload session without Location');
  return location;
}

/** Sends one PATCH with Content-Range; resolves to the response (its Location is the next URL). */
export function patchChunk(target: Target, location: string, chunk: Uint8Array, start: number): Promise<Response> {
  return request(target, 'PATCH', location, {
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${start + chunk.byteLength - 1}` },
    body: chunk,
  });
}

/** Pushes `data` to `name`; resolves to its digest. Throws on any unexpected status. */
export async function pushBlob(target: Target, name: string, data: Uint8Array, options: PushBlobOptions = {}): Promise<string> {
  const digest = digestOf(data, options.algorithm);
  const mode = options.mode ?? 'monolithic';
  const octet = { 'Content-Type': 'application/octet-stream' };
  if (mode === 'monolithic') {
    const res = await request(target, 'POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, { headers: octet, body: data });
    await expectStatus(res, 201, `monolithic push of ${digest}`);
    return digest;
  }
  let location = await startUpload(target, name);
  if (mode === 'chunked' || mode === 'streamed') {
    const size = options.chunkSize ?? Math.max(1, Math.ceil(data.byteLength / 3));
    for (let at = 0; at < data.byteLength; at += size) {
      const chunk = data.subarray(at, at + size);
      const res =
        mode === 'chunked' ? await patchChunk(target, location, chunk, at) : await request(target, 'PATCH', location, { headers: octet, body: streamOf(chunk, 2) });
      await expectStatus(res, 202, `PATCH at ${at}`);
      location = res.headers.get('location') ?? location;
    }
    const res = await request(target, 'PUT', withQuery(location, { digest }));
    await expectStatus(res, 201, `PUT closing the upload of ${digest}`);
    return digest;
  }
  const res = await request(target, 'PUT', withQuery(location, { digest }), { headers: octet, body: data });
  await expectStatus(res, 201, `PUT of ${digest}`);
  return digest;
}

// ------------------------------------------------------------------ manifests and images

export function putManifest(target: Target, name: string, reference: string, body: Uint8Array | string, mediaType: string | undefined): Promise<Response> {
  return request(target, 'PUT', `/v2/${name}/manifests/${reference}`, { headers: mediaType === undefined ? {} : { 'Content-Type': mediaType }, body });
}

/** PUTs a manifest and fails unless it is created; resolves to Docker-Content-Digest. */
export async function pushManifest(target: Target, name: string, reference: string, body: Uint8Array | string, mediaType: string | undefined): Promise<string> {
  const res = await putManifest(target, name, reference, body, mediaType);
  await expectStatus(res, 201, `PUT manifest ${name}:${reference}`);
  return res.headers.get('docker-content-digest') ?? '';
}

export interface Blob {
  readonly data: Buffer;
  readonly digest: string;
  readonly mediaType: string;
}

export interface TestImage {
  readonly config: Blob;
  readonly layers: readonly Blob[];
  /** The manifest's exact bytes. */
  readonly manifest: Buffer;
  readonly digest: string;
  readonly mediaType: string;
}

export interface ImageOptions {
  readonly layers?: number;
  readonly layerSize?: number;
  readonly format?: 'oci' | 'docker';
  readonly algorithm?: Algorithm;
  /** Extra top-level manifest fields (artifactType, subject, annotations...). */
  readonly extra?: Record<string, unknown>;
  readonly configMediaType?: string;
  /** Leave the manifest's mediaType field out (as umoci writes OCI manifests). */
  readonly omitMediaType?: boolean;
}

function blob(data: Buffer, mediaType: string, algorithm: Algorithm): Blob {
  return { data, digest: digestOf(data, algorithm), mediaType };
}

export function descriptor(b: { digest: string; mediaType: string; data?: Uint8Array; size?: number }): { mediaType: string; digest: string; size: number } {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size ?? b.data?.byteLength ?? 0 };
}

/** A random image: a unique config and `layers` random layers. */
export function makeImage(options: ImageOptions = {}): TestImage {
  const algorithm = options.algorithm ?? 'sha256';
  const docker = options.format === 'docker';
  const mediaType = docker ? DOCKER_MANIFEST : OCI_MANIFEST;
  const config = blob(
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, created: new Date(0).toISOString(), nonce: randomBytes(8).toString('hex') })),
    options.configMediaType ?? (docker ? DOCKER_CONFIG : OCI_CONFIG),
    algorithm,
  );
  const layers = Array.from({ length: options.layers ?? 1 }, () => blob(randomBlob(options.layerSize ?? 512), docker ? DOCKER_LAYER : OCI_LAYER, algorithm));
  const doc = {
    schemaVersion: 2,
    ...(options.omitMediaType ? {} : { mediaType }),
    config: descriptor(config),
    layers: layers.map(descriptor),
    ...options.extra,
  };
  const manifest = Buffer.from(JSON.stringify(doc));
  return { config, layers, manifest, digest: digestOf(manifest, algorithm), mediaType };
}

/** Pushes an image's blobs (in `mode`) and its manifest under `reference` (tag or digest). */
export async function pushImage(target: Target, name: string, reference: string, image: TestImage, mode: PushMode = 'monolithic'): Promise<string> {
  for (const b of [image.config, ...image.layers]) await pushBlob(target, name, b.data, { mode, algorithm: b.digest.startsWith('sha512:') ? 'sha512' : 'sha256' });
  return pushManifest(target, name, reference, image.manifest, image.mediaType);
}

/** An OCI index over `children` (already pushed manifests). */
export function makeIndex(children: readonly { digest: string; mediaType: string; manifest: Uint8Array }[], format: 'oci' | 'docker' = 'oci'): { manifest: Buffer; digest: string; mediaType: string } {
  const mediaType = format === 'docker' ? DOCKER_LIST : OCI_INDEX;
  const doc = {
    schemaVersion: 2,
    mediaType,
    manifests: children.map((c, i) => ({ mediaType: c.mediaType, digest: c.digest, size: c.manifest.byteLength, platform: { architecture: i === 0 ? 'amd64' : `arch${i}`, os: 'linux' } })),
  };
  const manifest = Buffer.from(JSON.stringify(doc));
  return { manifest, digest: digestOf(manifest), mediaType };
}

// ------------------------------------------------------------------ tokens

export function tokenRequest(url: string, scopes: readonly string[], basic?: string): Promise<Response> {
  const q = new URLSearchParams({ service: 'portcullis' });
  for (const s of scopes) q.append('scope', s);
  return fetch(`${url}/service/token?${q.toString()}`, { headers: basic === undefined ? {} : { Authorization: basic } });
}

/** A bearer token for `scopes` (anonymous without `basic`); resolves to the `Authorization` value. */
export async function bearer(url: string, scopes: readonly string[], basic?: string): Promise<string> {
  const res = await tokenRequest(url, scopes, basic);
  await expectStatus(res, 200, 'token request');
  const body = (await res.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (typeof token !== 'string') throw new Error(`token response without a token: ${JSON.stringify(body)}`);
  return `Bearer ${token}`;
}

// ------------------------------------------------------------------ suites

/**
 * One server shared by the tests of the enclosing describe: started in `before`, closed in
 * `after`. Returns a getter valid from the first test on.
 */
export function sharedServer(options: TestServerOptions = {}): () => TestServer {
  let server: TestServer | undefined;
  const cleanups: (() => unknown)[] = [];
  before(async () => {
    // startTestServer only needs `after` of its context, to register its cleanups.
    const context = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;
    server = await startTestServer(context, options);
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  return () => {
    if (server === undefined) throw new Error('the shared server has not started');
    return server;
  };
}
