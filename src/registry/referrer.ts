/**
 * Documents the registry keeps about an image (scan reports, SBOMs) as OCI artifacts whose
 * `subject` is the image: one layer holding the document, an empty config. The referrers API
 * finds them, and garbage collection keeps them while the image lives.
 */
import { Readable } from 'node:stream';
import { MediaType, digestOf, type Digest } from '../oci/index.js';
import type { ContentSource } from '../image/index.js';
import type { BlobStore, MetadataStore } from '../storage/index.js';

const EMPTY_CONFIG = Buffer.from('{}');
const EMPTY_DIGEST = digestOf(EMPTY_CONFIG);
const CREATED = 'org.opencontainers.image.created';

export interface ReferrerDeps {
  readonly meta: MetadataStore;
  readonly blobs: BlobStore;
  readonly now: () => number;
  readonly version: string;
}

export interface Subject {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

/** Stores `doc` as an artifact of `artifactType` referring to `subject`; resolves to the artifact's manifest digest. */
export async function storeReferrer(deps: ReferrerDeps, repository: string, artifactType: string, doc: Buffer, title: string, subject: Subject): Promise<Digest> {
  const docDigest = digestOf(doc);
  await storeBlob(deps, repository, EMPTY_DIGEST, EMPTY_CONFIG);
  await storeBlob(deps, repository, docDigest, doc);
  const created = new Date(deps.now()).toISOString();
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType,
      config: { mediaType: MediaType.OciEmpty, digest: EMPTY_DIGEST, size: EMPTY_CONFIG.byteLength },
      layers: [{ mediaType: artifactType, digest: docDigest, size: doc.byteLength, annotations: { 'org.opencontainers.image.title': title } }],
      subject,
      annotations: { [CREATED]: created, 'dev.portcullis.generator': `portcullis ${deps.version}` },
    }),
  );
  const digest = digestOf(manifest);
  const result = await deps.meta.artifacts.putManifest({
    repository,
    digest,
    mediaType: MediaType.OciManifest,
    content: manifest,
    artifactType,
    subject: subject.digest as Digest,
    annotations: { [CREATED]: created },
    blobs: [EMPTY_DIGEST, docDigest],
    blobBytes: EMPTY_CONFIG.byteLength + doc.byteLength,
    children: [],
    tag: null,
    now: deps.now(),
  });
  if (result.kind === 'missing') throw new Error(`storing the ${artifactType} artifact: blobs ${result.blobs.join(', ')} vanished (a concurrent collection); will retry`);
  return digest;
}

/** The same protocol as a push: reserve (so GC leaves it), place, link to the repository. */
export async function storeBlob(deps: Pick<ReferrerDeps, 'meta' | 'blobs' | 'now'>, repository: string, digest: Digest, bytes: Buffer): Promise<void> {
  const { meta, blobs, now } = deps;
  for (let i = 0; ; i++) {
    if ((await meta.blobs.reserve(digest, now())) === 'reserved') break;
    if (i >= 100) throw new Error(`blob ${digest} is being garbage-collected; will retry`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await blobs.put(digest, Readable.from([bytes]));
  if (!(await meta.blobs.link(repository, digest, bytes.byteLength, now()))) throw new Error(`blob ${digest} was removed while it was stored; will retry`);
}

/** The newest artifact of `artifactType` referring to `subject`, by its creation time; undefined when there is none. */
export async function newestReferrer(meta: MetadataStore, repository: string, subject: Digest, artifactType: string): Promise<Digest | undefined> {
  const stored = await meta.artifacts.referrers(repository, subject, artifactType);
  stored.sort((a, b) => (a.annotations?.[CREATED] ?? '').localeCompare(b.annotations?.[CREATED] ?? '') || a.digest.localeCompare(b.digest));
  return stored[stored.length - 1]?.digest;
}

/** The document of a stored artifact (its first layer), or undefined when the artifact or its content is gone. */
export async function readReferrer(meta: MetadataStore, blobs: BlobStore, repository: string, artifact: Digest): Promise<{ bytes: Buffer; digest: Digest } | undefined> {
  const m = await meta.artifacts.getManifest(repository, artifact, true);
  if (m?.content === undefined) return undefined;
  const layer = (JSON.parse(m.content.toString('utf8')) as { layers?: { digest?: string }[] }).layers?.[0]?.digest;
  if (layer === undefined) return undefined;
  const bytes = await readBlob(blobs, layer as Digest);
  return bytes === undefined ? undefined : { bytes, digest: layer as Digest };
}

/** A blob read whole; undefined when the store lacks it. Past `limit` bytes, an error. */
export async function readBlob(blobs: BlobStore, digest: Digest, limit = Number.POSITIVE_INFINITY): Promise<Buffer | undefined> {
  const stream = await blobs.open(digest);
  if (stream === undefined) return undefined;
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > limit) throw new Error(`blob ${digest} is larger than ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** An image of a repository read straight from the stores, as `openImage` reads any source. */
export function storedImageSource(meta: MetadataStore, blobs: BlobStore, repository: string): ContentSource {
  return {
    async manifest(reference) {
      const m = await meta.artifacts.getManifest(repository, reference, true);
      if (m?.content === undefined || m.content === null) throw new Error(`manifest ${reference} is no longer in ${repository}`);
      return { bytes: m.content, mediaType: m.mediaType };
    },
    async blob(d) {
      const stream = await blobs.open(d.digest as Digest);
      if (stream === undefined) throw new Error(`blob ${d.digest} is missing from the blob store`);
      return stream;
    },
    close: () => Promise.resolve(),
  };
}
