/**
 * SBOMs in the registry: every image pushed gets a job in the durable queue; a worker (in every
 * replica) claims jobs, reads the image straight from the stores, and keeps its SBOM as OCI
 * artifacts whose `subject` is the image (one CycloneDX 1.6, one SPDX 2.3), so the referrers API
 * finds them and garbage collection keeps them while the image lives.
 */
import { FsLayerCache, NO_CACHE, openImage, type LayerCache } from '../image/index.js';
import { MediaType } from '../oci/index.js';
import { ALL_CATALOGERS, catalogImage, formatInventory } from '../sbom/index.js';
import type { Logger } from '../shared/index.js';
import type { BlobStore, JobRecord, MetadataStore } from '../storage/index.js';
import { failAttempt, imageJobTarget, JobWorker } from './job-worker.js';
import { storedImageSource, storeReferrer } from './referrer.js';

export const SBOM_JOB = 'sbom';

/** The artifact types of the stored SBOMs, per output format. */
export const SBOM_ARTIFACT_TYPES = {
  'cyclonedx-json': 'application/vnd.cyclonedx+json',
  'spdx-json': 'application/spdx+json',
} as const;
export type StoredSbomFormat = keyof typeof SBOM_ARTIFACT_TYPES;


export interface SbomServiceDeps {
  readonly meta: MetadataStore;
  readonly blobs: BlobStore;
  readonly log: Logger;
  readonly now: () => number;
  readonly version: string;
  /** Layer cache directory; undefined keeps nothing between jobs. */
  readonly cacheDir: string | undefined;
  /** Where large files of a layer are spooled while it is read. */
  readonly tmpDir?: string;
  /** How often an idle worker looks for jobs other replicas queued. */
  readonly pollMs?: number;
  /** How long a claim holds a job before another worker may take it over. */
  readonly leaseMs?: number;
}

export class SbomService {
  private readonly cache: LayerCache;
  private readonly worker: JobWorker;

  constructor(private readonly deps: SbomServiceDeps) {
    this.cache = deps.cacheDir === undefined ? NO_CACHE : new FsLayerCache(deps.cacheDir);
    this.worker = new JobWorker('SBOM', deps.log, deps.pollMs ?? 2000, () => this.drain());
  }

  /** Queues the SBOM of an image just pushed; a repeated push of the same digest adds nothing. */
  async enqueue(repository: string, digest: string): Promise<void> {
    await this.deps.meta.jobs.enqueue(SBOM_JOB, `${repository}@${digest}`, JSON.stringify({ repository, digest }), this.deps.now());
    this.wake();
  }

  start(): void {
    this.worker.start();
  }

  /** Stops claiming; resolves when the job in hand (if any) has ended. */
  async stop(): Promise<void> {
    await this.worker.stop();
  }

  private wake(): void {
    this.worker.wake();
  }

  private async drain(): Promise<void> {
    const leaseMs = this.deps.leaseMs ?? 30 * 60_000;
    while (!this.worker.stopped) {
      const job = await this.deps.meta.jobs.claim([SBOM_JOB], this.deps.now(), leaseMs);
      if (job === undefined) return;
      await this.run(job);
    }
  }

  private async run(job: JobRecord): Promise<void> {
    const { log, now, meta } = this.deps;
    const target = await imageJobTarget(meta.jobs, job, now());
    if (target === undefined) return;
    const started = now();
    try {
      const stored = await this.build(target.repository, target.digest);
      await meta.jobs.complete(job.id, now());
      log.info({ repository: target.repository, digest: target.digest, packages: stored.packages, ms: now() - started }, 'SBOM stored');
    } catch (err) {
      const { message, retrying } = await failAttempt(meta.jobs, job, err, now());
      log.warn({ repository: target.repository, digest: target.digest, attempt: job.attempts, err: message, retrying }, 'SBOM generation failed');
    }
  }

  /** Reads the image from the stores, catalogs it, and stores both SBOM artifacts. */
  async build(repository: string, digest: string): Promise<{ packages: number }> {
    const { meta, blobs } = this.deps;
    const source = storedImageSource(meta, blobs, repository);
    const image = await openImage(source, digest, { reference: `${repository}@${digest}`, name: repository });
    let inventory;
    try {
      inventory = await catalogImage(image, { catalogers: ALL_CATALOGERS, cache: this.cache, concurrency: 1, ...(this.deps.tmpDir !== undefined ? { tmpDir: this.deps.tmpDir } : {}) });
    } finally {
      await image.close();
    }
    const subject = { mediaType: image.manifest.mediaType, digest: image.digest, size: image.manifestBytes.byteLength };
    for (const format of Object.keys(SBOM_ARTIFACT_TYPES) as StoredSbomFormat[]) {
      const doc = Buffer.from(formatInventory(inventory, format, { toolVersion: this.deps.version, timestamp: new Date(this.deps.now()) }));
      await storeReferrer(this.deps, repository, SBOM_ARTIFACT_TYPES[format], doc, format === 'cyclonedx-json' ? 'sbom.cdx.json' : 'sbom.spdx.json', subject);
    }
    return { packages: inventory.packages.length };
  }
}

/** Layers of Cosign's `.sig`/`.att` manifests: they have an image config, and are no image. */
const COSIGN_LAYER_TYPES: ReadonlySet<string> = new Set(['application/vnd.dev.cosign.simplesigning.v1+json', 'application/vnd.dsse.envelope.v1+json']);

/** Whether a pushed manifest is a container image (and not an artifact: signatures, SBOMs). */
export function isContainerImage(manifest: { kind: string; config?: { mediaType: string }; layers?: readonly { mediaType: string }[] }): boolean {
  if (manifest.kind !== 'image' || (manifest.config?.mediaType !== MediaType.OciConfig && manifest.config?.mediaType !== MediaType.DockerConfig)) return false;
  const layers = manifest.layers ?? [];
  return !(layers.length > 0 && layers.every((l) => COSIGN_LAYER_TYPES.has(l.mediaType)));
}
