/**
 * Documents the registry keeps about an image (scan reports, SBOMs) as OCI artifacts whose
 * `subject` is the image: one layer holding the document, an empty config. The referrers API
 * finds them, and garbage collection keeps them while the image lives.
 */
import { MediaType, digestOf, type Digest } from '../oci/index.js';
import type { MetadataStore } from '../storage/index.js';
import { SYSTEM, type ArtifactWriter } from './artifact-writer.js';

const EMPTY_CONFIG = Buffer.from('{}');
const EMPTY_DIGEST = digestOf(EMPTY_CONFIG);
const CREATED = 'org.opencontainers.image.created';

export interface ReferrerDeps {
  readonly writer: ArtifactWriter;
  readonly meta: MetadataStore;
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
  await deps.writer.putBytes(repository, EMPTY_DIGEST, EMPTY_CONFIG);
  await deps.writer.putBytes(repository, docDigest, doc);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType,
      config: { mediaType: MediaType.OciEmpty, digest: EMPTY_DIGEST, size: EMPTY_CONFIG.byteLength },
      layers: [{ mediaType: artifactType, digest: docDigest, size: doc.byteLength, annotations: { 'org.opencontainers.image.title': title } }],
      subject,
      annotations: { [CREATED]: new Date(deps.now()).toISOString(), 'dev.portcullis.generator': `portcullis ${deps.version}` },
    }),
  );
  return (await deps.writer.putManifest(repository, manifest, MediaType.OciManifest, null, SYSTEM)).digest;
}
