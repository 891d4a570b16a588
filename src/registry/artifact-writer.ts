/**
 * The one way the registry stores an artifact: a client's push, the documents Portcullis makes of
 * an image (SBOMs, scan reports), server-side signatures and promotions all go through here. A
 * blob is reserved against garbage collection, placed (verified against its digest) and linked
 * to the repository; a manifest is stored with its references and tag in one transaction once
 * everything it references is in the repository. Tag moves and deletions pass the write guard
 * (immutable tags, promotion-only projects) here, so no path can skip it, and every stored or
 * deleted artifact is told to the listeners (audit, webhooks, SBOM and scan queues).
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { artifactTypeOf, blobReferences, digestOf, manifestReferences, parseManifest, parseRepositoryName, type Digest, type Manifest } from '../oci/index.js';
import { AppError, type Logger } from '../shared/index.js';
import type { BlobStore, MetadataStore, StoredBlob, UploadStore } from '../storage/index.js';

export type ArtifactWriteCode =
  /** A garbage collection is deleting the blob: retry shortly. */
  | 'BLOB_BUSY'
  /** The blob went while it was being stored (a collection): push it again. */
  | 'BLOB_GONE'
  /** The manifest references blobs or manifests the repository does not hold (`detail.blobs`, `detail.manifests`). */
  | 'REFERENCES_MISSING'
  /** The repository's project does not exist. */
  | 'PROJECT_UNKNOWN'
  /** The write guard refused (an immutable tag, a project that takes images only by promotion). */
  | 'DENIED'
  /** The manifest is part of an index (`detail.indexes`): delete that first. */
  | 'REFERENCED'
  /** No such manifest or tag. */
  | 'UNKNOWN';

export class ArtifactWriteError extends AppError<ArtifactWriteCode> {
  constructor(code: ArtifactWriteCode, message: string, options: { detail?: Record<string, unknown>; cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'ArtifactWriteError';
  }
}

/** Who writes: a client (a push, a delete through either API), a promotion, or Portcullis itself (its documents and signatures). */
export interface Origin {
  readonly kind: 'client' | 'promotion' | 'system';
  /** The user or robot, when a person or a robot asked. */
  readonly actor?: string;
  /** Their address, for the audit log. */
  readonly client?: string;
}

export const SYSTEM: Origin = { kind: 'system' };

/** What policies may refuse. Throws ArtifactWriteError('DENIED') with a message naming the rule. */
export interface WriteGuard {
  /** Before a manifest is stored, with `tag` when one is set: new, moving from `previous`, or staying. */
  storing(repository: string, write: { readonly digest: Digest; readonly manifest: Manifest; readonly tag: string | null; readonly previous: Digest | undefined }, origin: Origin): Promise<void>;
  /** Before a tag is deleted, or a manifest with these tags. */
  deleting(repository: string, tags: readonly string[], origin: Origin): Promise<void>;
}

export type ArtifactEvent =
  | { readonly kind: 'stored'; readonly repository: string; readonly digest: Digest; readonly manifest: Manifest; readonly tag: string | null; readonly created: boolean; readonly origin: Origin }
  | { readonly kind: 'deleted'; readonly repository: string; readonly digest: Digest; readonly tags: readonly string[]; readonly origin: Origin }
  | { readonly kind: 'untagged'; readonly repository: string; readonly tag: string; readonly origin: Origin }
  | { readonly kind: 'repository-deleted'; readonly repository: string; readonly tags: readonly string[]; readonly origin: Origin };

export interface ArtifactWriterDeps {
  readonly meta: MetadataStore;
  readonly blobs: BlobStore;
  readonly uploads: UploadStore;
  readonly now: () => number;
  readonly log: Logger;
}

/** How long a write waits out a collection that is deleting the blob it stores. */
const RESERVE_TRIES = 600;
const RESERVE_WAIT_MS = 50;

export class ArtifactWriter {
  private guard: WriteGuard | undefined;
  private readonly listeners: ((e: ArtifactEvent) => void)[] = [];

  constructor(private readonly deps: ArtifactWriterDeps) {}

  /** Sets the guard that tag moves and deletions pass (the project policies). */
  guardWith(guard: WriteGuard): void {
    this.guard = guard;
  }

  /** Tells `listener` of every artifact stored or deleted; it must not throw, and its work must not hold the write. */
  onEvent(listener: (e: ArtifactEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Reserves a blob against garbage collection, waiting out a collection that is deleting it. */
  async reserve(digest: Digest): Promise<void> {
    for (let i = 0; i < RESERVE_TRIES; i++) {
      if ((await this.deps.meta.blobs.reserve(digest, this.deps.now())) === 'reserved') return;
      await sleep(RESERVE_WAIT_MS);
    }
    throw new ArtifactWriteError('BLOB_BUSY', `blob ${digest} is being garbage-collected; retry the push shortly`, { detail: { digest } });
  }

  /** Streams a blob into the store and links it to `repository` (a monolithic push, or Portcullis's own content). */
  async putBlob(repository: string, digest: Digest, source: AsyncIterable<Uint8Array>, options: { expectedSize?: number } = {}): Promise<StoredBlob> {
    await this.reserve(digest);
    const stored = await this.deps.blobs.put(digest, source, options.expectedSize === undefined ? {} : { expectedSize: options.expectedSize });
    await this.link(repository, digest, stored.size);
    return stored;
  }

  /** A small blob held in memory (documents, signatures). */
  putBytes(repository: string, digest: Digest, bytes: Uint8Array): Promise<StoredBlob> {
    return this.putBlob(repository, digest, Readable.from([bytes]));
  }

  /** Verifies an upload session's data against `digest`, places it and links it to `repository`. */
  async finishUpload(repository: string, id: string, digest: Digest): Promise<StoredBlob> {
    await this.reserve(digest);
    const stored = await this.deps.uploads.finish(id, digest);
    await this.link(repository, digest, stored.size);
    return stored;
  }

  /** Links a blob `from` holds into `to` (a cross-repository mount); its size, or undefined when `from` cannot serve it. */
  async mountBlob(from: string, to: string, digest: Digest): Promise<number | undefined> {
    if ((await this.deps.blobs.stat(digest)) === undefined) return undefined;
    await this.ensureRepository(to);
    return this.deps.meta.blobs.mount(from, to, digest, this.deps.now());
  }

  /** Creates the repository's row when absent; PROJECT_UNKNOWN when its project does not exist. */
  async ensureRepository(repository: string): Promise<void> {
    const { project } = parseRepositoryName(repository);
    if ((await this.deps.meta.artifacts.ensureRepository(repository, project, this.deps.now())) === undefined) {
      throw new ArtifactWriteError('PROJECT_UNKNOWN', `project "${project}" does not exist: create it first (portcullis project create ${project})`, { detail: { name: repository } });
    }
  }

  /**
   * Stores a manifest (bytes as given, so its digest holds) in `repository`, with `tag` when
   * given. Everything it references must be in the repository already (REFERENCES_MISSING).
   */
  async putManifest(repository: string, bytes: Uint8Array, mediaType: string | undefined, tag: string | null, origin: Origin, algorithm: 'sha256' | 'sha512' = 'sha256'): Promise<{ digest: Digest; manifest: Manifest; created: boolean }> {
    const { meta, now } = this.deps;
    const manifest = parseManifest(bytes, mediaType);
    const digest = digestOf(bytes, algorithm);
    await this.ensureRepository(repository);
    if (this.guard !== undefined) {
      const previous = tag === null ? undefined : (await meta.artifacts.getManifest(repository, tag, false))?.digest;
      await this.guard.storing(repository, { digest, manifest, tag, previous }, origin);
    }
    const result = await meta.artifacts.putManifest({
      repository,
      digest,
      mediaType: manifest.mediaType,
      content: bytes,
      artifactType: artifactTypeOf(manifest) ?? null,
      subject: manifest.subject?.digest ?? null,
      annotations: manifest.annotations ?? null,
      blobs: blobReferences(manifest),
      blobBytes: manifest.kind === 'image' ? manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0) : 0,
      children: manifestReferences(manifest),
      tag,
      now: now(),
    });
    if (result.kind === 'missing') {
      throw new ArtifactWriteError('REFERENCES_MISSING', `${[...result.blobs, ...result.manifests].join(', ')} not in ${repository}: push what a manifest references before the manifest`, {
        detail: { repository, blobs: [...result.blobs], manifests: [...result.manifests] },
      });
    }
    this.emit({ kind: 'stored', repository, digest, manifest, tag, created: result.created, origin });
    return { digest, manifest, created: result.created };
  }

  /** Deletes a tag (the manifest stays). */
  async deleteTag(repository: string, tag: string, origin: Origin): Promise<void> {
    if ((await this.deps.meta.artifacts.getManifest(repository, tag, false)) === undefined) throw new ArtifactWriteError('UNKNOWN', `tag unknown: ${repository}:${tag}`);
    await this.guard?.deleting(repository, [tag], origin);
    if (!(await this.deps.meta.artifacts.deleteTag(repository, tag))) throw new ArtifactWriteError('UNKNOWN', `tag unknown: ${repository}:${tag}`);
    this.emit({ kind: 'untagged', repository, tag, origin });
  }

  /** Deletes a manifest with its tags. */
  async deleteManifest(repository: string, digest: Digest, origin: Origin): Promise<void> {
    const artifact = await this.deps.meta.artifacts.getArtifact(repository, digest);
    if (artifact === undefined) throw new ArtifactWriteError('UNKNOWN', `manifest unknown: ${repository}@${digest}`);
    if (artifact.tags.length > 0) await this.guard?.deleting(repository, artifact.tags, origin);
    const result = await this.deps.meta.artifacts.deleteManifest(repository, digest);
    switch (result.kind) {
      case 'unknown':
        throw new ArtifactWriteError('UNKNOWN', `manifest unknown: ${repository}@${digest}`);
      case 'referenced':
        throw new ArtifactWriteError('REFERENCED', `manifest ${digest} is part of the index ${result.by.join(', ')}: delete the index first`, { detail: { indexes: [...result.by] } });
      case 'deleted':
        this.emit({ kind: 'deleted', repository, digest, tags: artifact.tags, origin });
    }
  }

  /** Deletes a repository with everything in it, when no tag of it may not go (an immutable one). */
  async deleteRepository(repository: string, origin: Origin): Promise<void> {
    const { meta } = this.deps;
    const tags: string[] = [];
    for (let page = await meta.artifacts.listTags(repository, { limit: 1000 }); page !== undefined && page.length > 0; page = page.length < 1000 ? undefined : await meta.artifacts.listTags(repository, { limit: 1000, after: page[page.length - 1] })) {
      tags.push(...page);
    }
    if (tags.length > 0) await this.guard?.deleting(repository, tags, origin);
    if (!(await meta.artifacts.deleteRepository(repository))) throw new ArtifactWriteError('UNKNOWN', `repository ${repository} not found`);
    this.emit({ kind: 'repository-deleted', repository, tags, origin });
  }

  private async link(repository: string, digest: Digest, size: number): Promise<void> {
    if (!(await this.deps.meta.blobs.link(repository, digest, size, this.deps.now()))) {
      throw new ArtifactWriteError('BLOB_GONE', `blob ${digest} was removed while it was being stored; push it again`, { detail: { digest } });
    }
  }

  private emit(e: ArtifactEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.deps.log.error({ err, event: e.kind, repository: e.repository }, 'an artifact listener failed');
      }
    }
  }
}
