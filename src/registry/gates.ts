/**
 * The gates in the registry: what is known of an image when a policy judges it (its findings of
 * every class, the keys its signatures verify with, its SBOM, the waivers that cover it), and the
 * pull gate. Facts are remembered per image for a few seconds and forgotten at once when
 * something they depend on changes here (a write in the repository: a signature, a report; a
 * waiver decided; a policy or a trusted key changed); other replicas see a change within the TTL.
 */
import { parseManifest, parseRepositoryName, type Digest } from '../oci/index.js';
import { evaluatePull, gatesPulls, type Decision, type ImageFacts, type ProjectPolicy } from '../policy/index.js';
import type { Logger } from '../shared/index.js';
import type { MetadataStore } from '../storage/index.js';
import type { PolicyService } from './policies.js';
import type { ScanService } from './scan.js';
import { isContainerImage } from './sbom.js';
import type { SigningService } from './signing.js';

/** How long the facts of an image are remembered. */
const TTL_MS = 5_000;
const MAX_CACHED = 20_000;

export interface GateServiceDeps {
  readonly meta: MetadataStore;
  readonly policies: PolicyService;
  readonly scan: Pick<ScanService, 'findings'>;
  readonly signing: Pick<SigningService, 'verifiedKeys'>;
  readonly now: () => number;
  readonly log: Logger;
}

/** What a pull of a refused image is told, and what was judged. */
export interface PullRefusal {
  readonly project: string;
  readonly decision: Decision;
}

export class GateService {
  private readonly facts = new Map<string, { facts: Promise<ImageFacts>; until: number }>();

  constructor(private readonly deps: GateServiceDeps) {}

  /** Forgets what is remembered of a project's images (all, without a project). */
  invalidate(project?: string): void {
    if (project === undefined) {
      this.facts.clear();
      return;
    }
    for (const key of this.facts.keys()) if (key.startsWith(`${project}/`)) this.facts.delete(key);
  }

  /** Forgets what is remembered of one repository's images. */
  invalidateRepository(repository: string): void {
    const prefix = `${repository}@`;
    for (const key of this.facts.keys()) if (key.startsWith(prefix)) this.facts.delete(key);
  }

  /**
   * The facts of an image for a policy that names `keys` (the keys whose signatures count). A scan
   * result whose report is gone counts as no scan.
   */
  factsOf(repository: string, digest: Digest, keys: readonly string[]): Promise<ImageFacts> {
    const cacheKey = `${repository}@${digest}#${keys.join('\n')}`;
    const now = this.deps.now();
    const hit = this.facts.get(cacheKey);
    if (hit !== undefined && hit.until > now) return hit.facts;
    const facts = this.gather(repository, digest, keys);
    if (this.facts.size >= MAX_CACHED) this.facts.clear();
    this.facts.set(cacheKey, { facts, until: now + TTL_MS });
    // A failure is not remembered.
    facts.catch(() => this.facts.delete(cacheKey));
    return facts;
  }

  private async gather(repository: string, digest: Digest, keys: readonly string[]): Promise<ImageFacts> {
    const { meta, scan, signing, now } = this.deps;
    const { project } = parseRepositoryName(repository);
    const [result, verifiedKeys, sbom, waivers] = await Promise.all([
      meta.scans.get(repository, digest),
      keys.length === 0 ? Promise.resolve(new Set<string>()) : signing.verifiedKeys(project, repository, digest, keys),
      meta.documents.get(repository, digest, 'cyclonedx-json'),
      meta.waivers.active(project, now()),
    ]);
    const findings = result === undefined ? undefined : await scan.findings(repository, result);
    return {
      ...(result !== undefined && findings !== undefined ? { scan: { scannedAt: result.scannedAt, dbBuiltAt: result.dbBuiltAt, findings } } : {}),
      verifiedKeys,
      hasSbom: sbom !== undefined,
      waivers: waivers.filter((w) => w.repository === null || (w.repository === repository && (w.digest === null || w.digest === digest))).map((w) => ({ id: w.id, ids: w.ids })),
    };
  }

  /**
   * The pull gate: undefined when the pull may go on (no gate in the project's policy, or not a
   * container image: signatures, SBOMs, attestations and indexes pass, an index's images are
   * judged when they are pulled), else the refusal.
   */
  async checkPull(repository: string, digest: Digest, manifest: () => Promise<{ bytes: Uint8Array; mediaType: string } | undefined>): Promise<PullRefusal | undefined> {
    const { project } = parseRepositoryName(repository);
    const policy = await this.deps.policies.policyOf(project);
    if (!gatesPulls(policy)) return undefined;
    const m = await manifest();
    if (m === undefined) return undefined;
    const parsed = parseManifest(m.bytes, m.mediaType);
    if (parsed.kind !== 'image' || !isContainerImage(parsed)) return undefined;
    const decision = evaluatePull(policy, await this.factsOf(repository, digest, pullKeys(policy)));
    return decision.allowed ? undefined : { project, decision };
  }
}

/** The keys a pull gate needs signatures checked with. */
export function pullKeys(policy: ProjectPolicy): readonly string[] {
  return policy.requireSignature?.keys ?? [];
}
