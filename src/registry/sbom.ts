/**
 * SBOMs in the registry: every image pushed gets a job in the durable queue; a worker (in every
 * replica) claims jobs, has the SBOM thread read the image through the repository's links and
 * catalog it (under the thread's memory and time limits), and keeps its SBOM as OCI artifacts
 * whose `subject` is the image (one CycloneDX 1.6, one SPDX 2.3), so the referrers API finds them
 * and garbage collection keeps them while the image lives.
 */
import { MediaType, type Digest } from '../oci/index.js';
import { taskBase } from './image-tasks.js';
import { DEFAULT_JOB_LIMITS, JobThread } from './job-thread.js';
import { imageJobTarget, JobWorker, queueOf, type ImageJobDeps, type RunningJob } from './job-worker.js';
import { storeReferrer, type ReferrerDeps, type Subject } from './referrer.js';
import { RepositoryContent } from './repository-content.js';

export const SBOM_JOB = 'sbom';

/** The artifact types of the stored SBOMs, per output format. */
export const SBOM_ARTIFACT_TYPES = {
  'cyclonedx-json': 'application/vnd.cyclonedx+json',
  'spdx-json': 'application/spdx+json',
} as const;
export type StoredSbomFormat = keyof typeof SBOM_ARTIFACT_TYPES;

const TITLES: Readonly<Record<StoredSbomFormat, string>> = { 'cyclonedx-json': 'sbom.cdx.json', 'spdx-json': 'sbom.spdx.json' };

export type SbomServiceDeps = ImageJobDeps;

export class SbomService {
  private readonly thread: JobThread;
  private readonly worker: JobWorker;

  constructor(private readonly deps: SbomServiceDeps) {
    this.thread = new JobThread('SBOM generation', deps.limits ?? DEFAULT_JOB_LIMITS, deps.log);
    this.worker = new JobWorker({ ...queueOf(deps), what: 'SBOM', kinds: [SBOM_JOB], run: (job) => this.run(job) });
  }

  /**
   * Queues the SBOM of an image just pushed; a repeated push of the same digest adds nothing.
   * `again` makes it once more when it was made already (its SBOM is gone).
   */
  async enqueue(repository: string, digest: string, again = false): Promise<void> {
    const { meta, now } = this.deps;
    const key = `${repository}@${digest}`;
    if (!(await meta.jobs.enqueue(SBOM_JOB, key, JSON.stringify({ repository, digest }), now())) && !(again && (await meta.jobs.requeue(SBOM_JOB, key, now())))) return;
    this.worker.wake();
  }

  start(): void {
    this.worker.start();
  }

  /** Stops claiming; resolves when the job in hand (if any) has ended. */
  async stop(): Promise<void> {
    await this.worker.stop();
    await this.thread.close();
  }

  private async run(job: RunningJob): Promise<void> {
    const { log, now } = this.deps;
    const target = await imageJobTarget(job);
    if (target === undefined) return;
    const started = now();
    try {
      const stored = await this.build(target.repository, target.digest, job.signal);
      await job.complete();
      log.info({ repository: target.repository, digest: target.digest, packages: stored.packages, ms: now() - started }, 'SBOM stored');
    } catch (err) {
      if (job.signal.aborted) return;
      const { message, retrying } = await job.fail(err);
      log.warn({ repository: target.repository, digest: target.digest, attempt: job.record.attempts, err: message, retrying }, 'SBOM generation failed');
    }
  }

  /** Catalogs the image in the SBOM thread (reading it through the repository's links) and stores both SBOM artifacts. */
  async build(repository: string, digest: string, signal?: AbortSignal): Promise<{ packages: number }> {
    const { meta, blobs } = this.deps;
    const o = await this.thread.run({ kind: 'sbom', ...taskBase(this.deps, repository, digest) }, new RepositoryContent(meta, blobs, repository).imageSource(), signal);
    for (const format of Object.keys(SBOM_ARTIFACT_TYPES) as StoredSbomFormat[]) {
      await storeSbom(this.deps, repository, format, o.documents[format], o.subject);
    }
    return { packages: o.packages };
  }
}

/**
 * Stores an SBOM Portcullis made as a referrer of the image, and records it as the image's own
 * (what the registry serves and reads again, rather than any SBOM artifact a client pushed).
 */
export async function storeSbom(deps: ReferrerDeps, repository: string, format: StoredSbomFormat, doc: Uint8Array, subject: Subject): Promise<void> {
  const artifact = await storeReferrer(deps, repository, SBOM_ARTIFACT_TYPES[format], Buffer.from(doc.buffer, doc.byteOffset, doc.byteLength), TITLES[format], subject);
  // False when the image went meanwhile: the artifact, with no subject left, goes at the next collection.
  await deps.meta.documents.put(repository, subject.digest as Digest, format, artifact, deps.now());
}

/** Layers of Cosign's `.sig`/`.att` manifests: they have an image config, and are no image. */
const COSIGN_LAYER_TYPES: ReadonlySet<string> = new Set(['application/vnd.dev.cosign.simplesigning.v1+json', 'application/vnd.dsse.envelope.v1+json']);

/** Whether a pushed manifest is a container image (and not an artifact: signatures, SBOMs). */
export function isContainerImage(manifest: { kind: string; config?: { mediaType: string }; layers?: readonly { mediaType: string }[] }): boolean {
  if (manifest.kind !== 'image' || (manifest.config?.mediaType !== MediaType.OciConfig && manifest.config?.mediaType !== MediaType.DockerConfig)) return false;
  const layers = manifest.layers ?? [];
  return !(layers.length > 0 && layers.every((l) => COSIGN_LAYER_TYPES.has(l.mediaType)));
}
