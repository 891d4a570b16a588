/**
 * Documents the registry keeps about an image (scan reports, SBOMs) as OCI artifacts whose
 * `subject` is the image: one layer holding the document, an empty config. The referrers API
 * finds them, and garbage collection keeps them while the image lives.
 */
import { Readable } from 'node:stream';
import { MediaType, digestOf, type Digest } from '../oci/index.js';
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
