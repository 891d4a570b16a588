// Shared helpers for the management API and CLI tests: raw HTTP pushes through /v2 and small
// request helpers. Not a test file itself (run-tests only picks *.test.js).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { TestServer } from '../../helpers/server.js';

export function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** fetch against the test server with an explicit Authorization header (none when undefined). */
export function call(s: { url: string }, auth: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const h: Record<string, string> = { ...headers };
  if (auth !== undefined) h['Authorization'] = auth;
  let payload: string | undefined;
  if (body instanceof URLSearchParams) {
    h['Content-Type'] ??= 'application/x-www-form-urlencoded';
    payload = body.toString();
  } else if (body !== undefined) {
    h['Content-Type'] ??= 'application/json';
    payload = JSON.stringify(body);
  }
  return fetch(`${s.url}${path}`, { method, headers: h, ...(payload !== undefined ? { body: payload } : {}) });
}

/** Asserts the management API's error shape and returns the first error. */
export async function apiError(res: Response, status: number, code?: string): Promise<{ code: string; message: string }> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${text}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
  assert.ok(Array.isArray(body.errors) && body.errors.length >= 1, `no errors array in ${text}`);
  const e = body.errors[0]!;
  assert.equal(typeof e.code, 'string', text);
  assert.equal(typeof e.message, 'string', text);
  assert.ok((e.message as string).length > 0, text);
  if (code !== undefined) assert.equal(e.code, code, text);
  return { code: e.code as string, message: e.message as string };
}

export async function okJson<T>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Pushes one blob monolithically (POST ?digest=); resolves to its digest. */
export async function pushBlob(s: { url: string; adminAuth: string }, repo: string, data: Uint8Array, auth: string | undefined = s.adminAuth): Promise<string> {
  const digest = sha256(data);
  const h: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.byteLength) };
  if (auth !== undefined) h['Authorization'] = auth;
  const res = await fetch(`${s.url}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', headers: h, body: data });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`pushing blob to ${repo}: ${res.status} ${text}`);
  return digest;
}

export interface PushedImage {
  readonly digest: string;
  readonly manifestBytes: number;
  readonly configSize: number;
  readonly layerSizes: readonly number[];
  readonly configDigest: string;
  readonly layerDigests: readonly string[];
}

/** Pushes a small random OCI image (config + layers + manifest) to repo:tag through /v2. */
export async function pushImage(s: { url: string; adminAuth: string }, repo: string, tag: string, options: { auth?: string; layers?: readonly number[] } = {}): Promise<PushedImage> {
  const auth = options.auth ?? s.adminAuth;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
  const layers = (options.layers ?? [1000, 2345]).map((n) => randomBytes(n));
  const configDigest = await pushBlob(s, repo, config, auth);
  const layerDigests: string[] = [];
  for (const l of layers) layerDigests.push(await pushBlob(s, repo, l, auth));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.byteLength },
      layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigests[i], size: l.byteLength })),
    }),
  );
  const res = await fetch(`${s.url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`pushing manifest ${repo}:${tag}: ${res.status} ${text}`);
  return { digest: sha256(manifest), manifestBytes: manifest.byteLength, configSize: config.byteLength, layerSizes: layers.map((l) => l.byteLength), configDigest, layerDigests };
}

/** The payload of a JWT, decoded without verification. */
export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  assert.ok(part !== undefined, `not a JWT: ${token}`);
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Where the filesystem blob store keeps a blob's content. */
export function blobPath(dataDir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return `${dataDir}/storage/blobs/${algorithm}/${hex.slice(0, 2)}/${hex}`;
}

export type { TestServer };
