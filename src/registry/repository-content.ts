/**
 * Reading stored content on behalf of a repository: its manifests, and blobs only through its
 * links, with the size the referring descriptor declares. The one way the registry reads blobs
 * for SBOMs, scans, reports and signatures, so that a digest known from a private repository
 * gives nothing elsewhere: a manifest may name any digest (a foreign layer with `urls` needs no
 * link to be pushed), but what it names is read only where it is held.
 */
import type { Readable } from 'node:stream';
import type { BlobDescriptor, ContentSource } from '../image/index.js';
import type { Digest } from '../oci/index.js';
import type { BlobStore, MetadataStore } from '../storage/index.js';

export class RepositoryContent {
  constructor(
    private readonly meta: MetadataStore,
    private readonly blobs: BlobStore,
    readonly repository: string,
  ) {}

  /** Why the repository will not serve this blob, or undefined when it holds it (at `size`, when given). */
  async unavailable(digest: Digest, size?: number, urls?: readonly string[]): Promise<string | undefined> {
    const linked = await this.meta.blobs.linked(this.repository, digest);
    if (linked === undefined) {
      return urls !== undefined && urls.length > 0 ? `a foreign layer (urls) that ${this.repository} does not hold` : `blob ${digest} is not in ${this.repository}`;
    }
    if (size !== undefined && linked !== size) return `blob ${digest} is ${linked} bytes in ${this.repository}, not the ${size} its descriptor declares`;
    return undefined;
  }

  /** A stream of the blob when the repository holds it (see `unavailable`); undefined otherwise. */
  async open(digest: Digest, size?: number): Promise<Readable | undefined> {
    if ((await this.unavailable(digest, size)) !== undefined) return undefined;
    return this.blobs.open(digest);
  }

  /** The blob read whole when the repository holds it; undefined otherwise. Past `limit` bytes, an error. */
  async read(digest: Digest, options: { readonly size?: number; readonly limit?: number } = {}): Promise<Buffer | undefined> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const stream = await this.open(digest, options.size);
    if (stream === undefined) return undefined;
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of stream) {
      n += (c as Buffer).length;
      if (n > limit) {
        stream.destroy();
        throw new Error(`blob ${digest} is larger than ${limit} bytes`);
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  /**
   * The document of a stored artifact of the repository (its first layer: an SBOM, a scan report)
   * as a stream, with its digest; undefined when the artifact is gone or the repository does not
   * hold that layer at the size the manifest declares.
   */
  async openDocument(artifact: Digest): Promise<{ stream: Readable; digest: Digest } | undefined> {
    const layer = await this.documentLayer(artifact);
    const stream = layer === undefined ? undefined : await this.open(layer.digest, layer.size);
    return stream === undefined ? undefined : { stream, digest: layer!.digest };
  }

  /** `openDocument`, read whole. */
  async readDocument(artifact: Digest): Promise<{ bytes: Buffer; digest: Digest } | undefined> {
    const layer = await this.documentLayer(artifact);
    const bytes = layer === undefined ? undefined : await this.read(layer.digest, { size: layer.size });
    return bytes === undefined ? undefined : { bytes, digest: layer!.digest };
  }

  private async documentLayer(artifact: Digest): Promise<{ digest: Digest; size: number } | undefined> {
    const m = await this.meta.artifacts.getManifest(this.repository, artifact, true);
    if (m?.content === undefined) return undefined;
    const layer = (JSON.parse(m.content.toString('utf8')) as { layers?: { digest?: unknown; size?: unknown }[] }).layers?.[0];
    if (typeof layer?.digest !== 'string' || typeof layer.size !== 'number') return undefined;
    return { digest: layer.digest as Digest, size: layer.size };
  }

  /** The repository as an image source, as `openImage` reads any: layers it does not hold are absent. */
  imageSource(): ContentSource {
    return {
      manifest: async (reference) => {
        const m = await this.meta.artifacts.getManifest(this.repository, reference, true);
        if (m?.content === undefined) throw new Error(`manifest ${reference} is no longer in ${this.repository}`);
        return { bytes: m.content, mediaType: m.mediaType };
      },
      blob: async (d: BlobDescriptor) => {
        const reason = await this.unavailable(d.digest as Digest, d.size, d.urls);
        if (reason !== undefined) throw new Error(reason);
        const stream = await this.blobs.open(d.digest as Digest);
        if (stream === undefined) throw new Error(`blob ${d.digest} is linked to ${this.repository} but missing from the blob store`);
        return stream;
      },
      absent: (d: BlobDescriptor) => this.unavailable(d.digest as Digest, d.size, d.urls),
      close: () => Promise.resolve(),
    };
  }
}
