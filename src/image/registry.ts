/**
 * Reading images from any OCI / Docker v2 registry: reference parsing with Docker's defaults, the
 * token flow (401 challenge → Basic credentials at the realm → Bearer token, per repository
 * scope), Basic auth where a registry asks for it, and streamed blobs with redirects followed.

 * The wire is the code base's one HTTP client (src/shared/http.ts), pooled and kept alive. */
import { httpExchange, networkReason, readReply, replyHeader as header, replyOk, type HttpReply as Reply } from '../shared/index.js';
import { MediaType, isDigest, type Descriptor } from '../oci/index.js';
import { ImageError } from './errors.js';
import type { ContentSource, FetchedManifest } from './image.js';

export interface RegistryReference {
  /** host[:port] as written; docker.io for Docker Hub. */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

/**
 * Parses `[REGISTRY/]REPO[:TAG][@DIGEST]` as docker does: the first component is a registry when it
 * has a dot or a port or is `localhost`; otherwise Docker Hub, where one-part names get `library/`.
 */
export function parseRegistryReference(text: string): RegistryReference {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw new ImageError('SOURCE_INVALID', `"${digest}" in ${text} is not a digest (sha256:<64 hex>)`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) throw new ImageError('SOURCE_INVALID', `"${tag}" in ${text} is not a valid tag`);
  }
  const slash = rest.indexOf('/');
  let registry = DOCKER_HUB;
  let repository = rest;
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)) {
    throw new ImageError('SOURCE_INVALID', `"${repository}" in ${text} is not a valid repository name (lower-case letters, digits, separators)`);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

export function formatRegistryReference(r: RegistryReference): string {
  return `${r.registry}/${r.repository}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface RegistryOptions {
  /** Plain HTTP instead of HTTPS. */
  readonly insecure?: boolean;
  /** Credentials for a registry host, from the Docker config file or a login. */
  readonly credentials?: (registry: string) => Promise<Credentials | undefined>;
  readonly userAgent?: string;
  readonly signal?: AbortSignal;
}

/** One exchange, no redirect followed; a Blob body is sent again on each call. */
function exchange(url: string, method: string, headers: Record<string, string>, body: Blob | undefined, signal: AbortSignal | undefined): Promise<Reply> {
  return httpExchange(url, { method, headers, ...(body !== undefined ? { body } : {}), ...(signal !== undefined ? { signal } : {}) });
}

const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest].join(', ');

interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses `WWW-Authenticate: Bearer realm="...",service="...",scope="..."`. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (m === null) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: m[1]!.toLowerCase(), params };
}

/** A content source over one repository of a registry. */
export class RegistrySource implements ContentSource {
  /** The Authorization header that worked last (a bearer token, or Basic), shared by the clients made with withSignal. */
  private session: { authorization: string | undefined; anonymous: boolean } = { authorization: undefined, anonymous: false };
  private readonly base: string;
  private readonly host: string;

  constructor(
    readonly ref: RegistryReference,
    private readonly options: RegistryOptions = {},
  ) {
    this.host = ref.registry === DOCKER_HUB ? DOCKER_HUB_API : ref.registry;
    this.base = `${options.insecure === true ? 'http' : 'https'}://${this.host}/v2/${ref.repository}`;
  }

  /**
   * A client of the same repository that shares this one's session (its token: no new challenge)
   * and is bounded by another signal: one client per repository, one deadline per request.
   */
  withSignal(signal: AbortSignal): RegistrySource {
    const s = new RegistrySource(this.ref, { ...this.options, signal });
    s.session = this.session;
    return s;
  }

  async manifest(reference: string): Promise<FetchedManifest> {
    const res = await this.request(`${this.base}/manifests/${reference}`, { Accept: MANIFEST_ACCEPT });
    const bytes = await readLimited(res, 4 * 1024 * 1024, `manifest ${reference}`);
    const type = header(res, 'content-type')?.split(';')[0]?.trim();
    return type !== undefined && type !== '' ? { bytes, mediaType: type } : { bytes };
  }

  /**
   * What the registry says a reference names, from a HEAD request (no content): its digest,
   * media type and size. A pull gate lets HEAD through (as Harbor's does), so a refused image can
   * still be named, and signed, by digest.
   */
  async resolve(reference: string): Promise<{ digest: string; mediaType: string | undefined; size: number }> {
    const res = await this.request(`${this.base}/manifests/${reference}`, { Accept: MANIFEST_ACCEPT }, false, { method: 'HEAD' });
    await res.body.dump();
    const digest = header(res, 'docker-content-digest');
    const size = Number(header(res, 'content-length'));
    if (digest === undefined || !Number.isSafeInteger(size) || size <= 0) throw new ImageError('MANIFEST_INVALID', `${this.host} answered HEAD ${reference} without a digest or size`);
    return { digest, mediaType: header(res, 'content-type')?.split(';')[0]?.trim() || undefined, size };
  }

  async blob(d: { readonly digest: string }): Promise<AsyncIterable<Uint8Array>> {
    const res = await this.request(`${this.base}/blobs/${d.digest}`, {});
    return res.body;
  }

  /** The manifest at a tag or digest; undefined when the registry has none (404). */
  async findManifest(reference: string): Promise<FetchedManifest | undefined> {
    try {
      return await this.manifest(reference);
    } catch (err) {
      if (err instanceof ImageError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  /** A small blob read whole (a signature payload, a config), refused past `limit` bytes. */
  async blobBytes(digest: string, limit: number): Promise<Uint8Array> {
    const res = await this.request(`${this.base}/blobs/${digest}`, {});
    return readLimited(res, limit, `blob ${digest}`);
  }

  /**
   * The referrers of a manifest (OCI 1.1), optionally of one artifact type; an empty list from a
   * registry without the API (404), as the spec's fallback has no tags to read here.
   */
  async referrers(digest: string, artifactType?: string): Promise<Descriptor[]> {
    const query = artifactType !== undefined ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    let res: Reply;
    try {
      res = await this.request(`${this.base}/referrers/${digest}${query}`, { Accept: MediaType.OciIndex });
    } catch (err) {
      if (err instanceof ImageError && err.code === 'NOT_FOUND') return [];
      throw err;
    }
    const bytes = await readLimited(res, 4 * 1024 * 1024, `referrers of ${digest}`);
    let doc: { manifests?: unknown };
    try {
      doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof doc;
    } catch {
      throw new ImageError('MANIFEST_INVALID', `${this.host} answered the referrers of ${digest} with something that is not JSON`);
    }
    const list = Array.isArray(doc.manifests) ? (doc.manifests as Descriptor[]) : [];
    return list.filter((d) => typeof d?.digest === 'string' && (artifactType === undefined || d.artifactType === artifactType));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Uploads a blob unless the repository has it (monolithic POST then PUT). The body is a Blob so
   * it can be sent again after an authentication round trip.
   */
  async pushBlob(digest: string, body: Blob): Promise<void> {
    try {
      const head = await this.request(`${this.base}/blobs/${digest}`, {}, false, { method: 'HEAD' });
      await head.body.dump();
      return;
    } catch (err) {
      if (!(err instanceof ImageError && err.code === 'NOT_FOUND')) throw err;
    }
    const start = await this.request(`${this.base}/blobs/uploads/`, { 'Content-Length': '0' }, false, { method: 'POST' });
    await start.body.dump();
    const location = header(start, 'location');
    if (location === undefined) throw new ImageError('NETWORK', `${this.host} started an upload without a Location header`);
    const url = new URL(location, this.base);
    url.searchParams.set('digest', digest);
    const done = await this.request(url.toString(), { 'Content-Type': 'application/octet-stream' }, false, { method: 'PUT', body });
    await done.body.dump();
  }

  /** Stores a manifest under a tag (or its digest); resolves to the digest the registry reports. */
  async putManifest(reference: string, bytes: Uint8Array, mediaType: string): Promise<string | undefined> {
    const res = await this.request(`${this.base}/manifests/${reference}`, { 'Content-Type': mediaType }, false, { method: 'PUT', body: new Blob([bytes]) });
    await res.body.dump();
    return header(res, 'docker-content-digest');
  }

  private async request(url: string, headers: Record<string, string>, retried = false, init: { method?: string; body?: Blob } = {}): Promise<Reply> {
    const all: Record<string, string> = { ...headers, 'User-Agent': this.options.userAgent ?? 'portcullis' };
    if (this.session.authorization !== undefined) all['Authorization'] = this.session.authorization;
    const method = init.method ?? 'GET';
    let res: Reply;
    try {
      res = await exchange(url, method, all, init.body, this.options.signal);
      // Blob redirects (to S3, a CDN) are followed without our Authorization header.
      let hops = 0;
      let at = url;
      while (res.statusCode >= 300 && res.statusCode < 400 && header(res, 'location') !== undefined && hops++ < 5) {
        await res.body.dump();
        at = new URL(header(res, 'location')!, at).toString();
        res = await exchange(at, method === 'HEAD' ? 'HEAD' : 'GET', { 'User-Agent': all['User-Agent']! }, undefined, this.options.signal);
      }
    } catch (err) {
      if (this.options.signal?.aborted === true) throw new ImageError('NETWORK', `cannot reach ${this.host}: ${networkReason(this.options.signal.reason)}`, { cause: err });
      throw new ImageError('NETWORK', `cannot reach ${this.host}: ${networkReason(err)}${this.options.insecure === true ? '' : ' (for a plain-HTTP registry add --insecure)'}`, { cause: err });
    }
    if (res.statusCode === 401 && !retried) {
      const challenge = parseChallenge(header(res, 'www-authenticate') ?? '');
      await res.body.dump();
      if (challenge !== undefined && (await this.authenticate(challenge))) return this.request(url, headers, true, init);
      throw new ImageError('UNAUTHORIZED', `${this.host} wants credentials for ${this.ref.repository}: run \`portcullis login ${this.ref.registry}\` or \`docker login\``);
    }
    if (replyOk(res)) return res;
    const body = init.method === 'HEAD' ? '' : await textLimited(res);
    const detail = registryErrorText(body);
    if ((res.statusCode === 401 || res.statusCode === 403) && this.session.anonymous) {
      throw new ImageError('UNAUTHORIZED', `${this.host} wants credentials for ${this.ref.repository}: run \`portcullis login ${this.ref.registry}\` or \`docker login\`${detail}`);
    }
    switch (res.statusCode) {
      case 401:
        throw new ImageError('UNAUTHORIZED', `${this.host} refused the credentials for ${this.ref.repository}${detail}`);
      case 403:
        throw new ImageError('UNAUTHORIZED', `${this.host} denies access to ${this.ref.repository}${detail}`);
      case 412:
        throw new ImageError('DENIED', `${this.host} refuses ${formatRegistryReference(this.ref)}${detail}`);
      case 404:
        throw new ImageError('NOT_FOUND', `${formatRegistryReference(this.ref)}: ${url.includes('/manifests/') ? 'no such image' : url.includes('/blobs/uploads/') ? 'no such repository or upload' : 'a blob is missing'}${detail}`);
      default:
        throw new ImageError('NETWORK', `${this.host} answered ${res.statusCode} for ${new URL(url).pathname}${detail}`);
    }
  }

  private async authenticate(challenge: Challenge): Promise<boolean> {
    const creds = await this.options.credentials?.(this.ref.registry);
    this.session.anonymous = creds === undefined;
    if (challenge.scheme === 'basic') {
      if (creds === undefined) return false;
      this.session.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      return true;
    }
    if (challenge.scheme !== 'bearer' || challenge.params['realm'] === undefined) return false;
    const realm = new URL(challenge.params['realm']);
    if (challenge.params['service'] !== undefined) realm.searchParams.set('service', challenge.params['service']);
    realm.searchParams.set('scope', challenge.params['scope'] ?? `repository:${this.ref.repository}:pull`);
    const headers: Record<string, string> = { 'User-Agent': this.options.userAgent ?? 'portcullis' };
    if (creds !== undefined) headers['Authorization'] = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    let res: Reply;
    try {
      res = await exchange(realm.toString(), 'GET', headers, undefined, this.options.signal);
    } catch (err) {
      throw new ImageError('NETWORK', `cannot reach the token service ${realm.origin}: ${networkReason(err)}`, { cause: err });
    }
    if (!replyOk(res)) {
      await res.body.dump();
      if (res.statusCode === 401 || res.statusCode === 403) {
        throw new ImageError('UNAUTHORIZED', `${realm.host} refused ${creds === undefined ? 'anonymous access' : `the credentials of ${creds.username}`} to ${this.ref.repository}`);
      }
      throw new ImageError('NETWORK', `the token service ${realm.origin} answered ${res.statusCode}`);
    }
    let body: { token?: string; access_token?: string } = {};
    try {
      body = JSON.parse(Buffer.from(await readLimited(res, 1024 * 1024, 'token')).toString('utf8')) as typeof body;
    } catch (err) {
      if (err instanceof ImageError) throw err;
    }
    const token = body.token ?? body.access_token;
    if (typeof token !== 'string' || token === '') throw new ImageError('UNAUTHORIZED', `the token service ${realm.origin} returned no token`);
    this.session.authorization = `Bearer ${token}`;
    return true;
  }
}

function readLimited(res: Reply, limit: number, what: string): Promise<Uint8Array> {
  return readReply(res, limit, (declared) =>
    new ImageError('MANIFEST_INVALID', declared !== undefined ? `the ${what} is ${declared} bytes; the limit is ${limit}` : `the ${what} is larger than ${limit} bytes`),
  );
}

/** An error body as text, at most 64 KiB of it (a registry's error is a line of JSON). */
async function textLimited(res: Reply): Promise<string> {
  try {
    return Buffer.from(await readLimited(res, 64 * 1024, 'error')).toString('utf8');
  } catch {
    return '';
  }
}

function registryErrorText(body: string): string {
  try {
    const errors = (JSON.parse(body) as { errors?: { code?: string; message?: string }[] }).errors;
    const first = errors?.[0];
    if (first !== undefined) return `: ${first.code ?? ''} ${first.message ?? ''}`.trimEnd();
  } catch {
    // not a registry error body
  }
  return '';
}
