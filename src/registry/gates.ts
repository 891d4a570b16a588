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
import type { FindingDecision } from '../scan/index.js';
import type { MetadataStore, WaiverRecord } from '../storage/index.js';
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

interface Remembered<T> {
  readonly value: Promise<T>;
  readonly until: number;
}

/** What is remembered of the images of each repository: dropped whole when the repository changes. */
class RepositoryCache<T> {
  private readonly byRepository = new Map<string, Map<string, Remembered<T>>>();
  private size = 0;

  get(repository: string, key: string, now: number): Remembered<T> | undefined {
    const hit = this.byRepository.get(repository)?.get(key);
    return hit !== undefined && hit.until > now ? hit : undefined;
  }

  set(repository: string, key: string, entry: Remembered<T>): void {
    if (this.size >= MAX_CACHED) this.clear();
    let m = this.byRepository.get(repository);
    if (m === undefined) this.byRepository.set(repository, (m = new Map()));
    if (!m.has(key)) this.size += 1;
    m.set(key, entry);
    // A failure is not remembered.
    entry.value.catch(() => {
      if (m.get(key) === entry && m.delete(key)) this.size -= 1;
    });
  }

  dropRepository(repository: string): void {
    const m = this.byRepository.get(repository);
    if (m === undefined) return;
    this.size -= m.size;
    this.byRepository.delete(repository);
  }

  clear(): void {
    this.byRepository.clear();
    this.size = 0;
  }
}

export class GateService {
  /** Facts per source repository, by digest, judging repository and keys (promotions, signing). */
  private readonly facts = new RepositoryCache<ImageFacts>();
  /** The pull gate's decisions per repository, by digest, with the policy object they were made under. */
  private readonly pulls = new RepositoryCache<{ readonly policy: ProjectPolicy; readonly refusal: PullRefusal | undefined }>();

  constructor(private readonly deps: GateServiceDeps) {}

  /**
   * Forgets everything remembered: a waiver decided, a policy or a trusted key changed. These are
   * rare, and facts judged for one project may come from another's repositories.
   */
  invalidate(): void {
    this.facts.clear();
    this.pulls.clear();
  }

  /** Forgets what is remembered of one repository's images (a write there: a signature, a report, a tag). */
  invalidateRepository(repository: string): void {
    this.facts.dropRepository(repository);
    this.pulls.dropRepository(repository);
  }

  /**
   * The facts of an image for a policy that names `keys` (the keys whose signatures count). A scan
   * result whose report is gone counts as no scan. `judge` is where the policy comes from when the
   * image is judged for another repository (a promotion): its project resolves the keys, and its
   * waivers (of that project, repository and digest) apply.
   */
  factsOf(repository: string, digest: Digest, keys: readonly string[], judge: string = repository): Promise<ImageFacts> {
    const key = `${digest}#${judge}#${keys.join('\n')}`;
    const now = this.deps.now();
    const hit = this.facts.get(repository, key, now);
    if (hit !== undefined) return hit.value;
    const value = this.gather(repository, digest, keys, judge);
    this.facts.set(repository, key, { value, until: now + TTL_MS });
    return value;
  }

  private async gather(repository: string, digest: Digest, keys: readonly string[], judge: string): Promise<ImageFacts> {
    const { meta, scan, now } = this.deps;
    const { project } = parseRepositoryName(judge);
    const [result, verifiedKeys, sbom, waivers] = await Promise.all([
      meta.scans.get(repository, digest),
      this.verifiedKeys(project, repository, digest, keys),
      meta.documents.get(repository, digest, 'cyclonedx-json'),
      meta.waivers.active(project, now()),
    ]);
    const findings = result === undefined ? undefined : await scan.findings(repository, result);
    return {
      ...(result !== undefined && findings !== undefined ? { scan: { scannedAt: result.scannedAt, dbBuiltAt: result.dbBuiltAt, findings } } : {}),
      verifiedKeys,
      hasSbom: sbom !== undefined,
      waivers: waivers.filter((w) => covers(w, judge, digest)).map((w) => ({ id: w.id, ids: w.ids })),
    };
  }

  /**
   * The keys that verify a signature of the image, or of an index of the repository that lists it
   * (Cosign signs the digest a tag names: a multi-platform image's index; its images are pulled
   * by their own digests).
   */
  private async verifiedKeys(project: string, repository: string, digest: Digest, keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const verified = await this.deps.signing.verifiedKeys(project, repository, digest, keys);
    if (verified.size === keys.length) return verified;
    for (const index of await this.deps.meta.artifacts.parents(repository, digest)) {
      for (const k of await this.deps.signing.verifiedKeys(project, repository, index, keys.filter((x) => !verified.has(x)))) verified.add(k);
      if (verified.size === keys.length) break;
    }
    return verified;
  }

  /** The approved, unexpired waivers of the image's project whose scope covers it, as decisions a report shows. */
  async decisionsFor(repository: string, digest: Digest): Promise<FindingDecision[]> {
    const { project } = parseRepositoryName(repository);
    const active = await this.deps.meta.waivers.active(project, this.deps.now());
    return active.filter((w) => covers(w, repository, digest)).map((w) => ({ ids: w.ids, source: `portcullis waiver ${w.id}`, statement: `${w.reason} (approved by ${w.decidedBy ?? 'unknown'}, until ${new Date(w.expiresAt).toISOString()})` }));
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
    // The decision is remembered with the policy object it was made under: a policy read again
    // (changed or not) is judged again.
    const now = this.deps.now();
    const hit = this.pulls.get(repository, digest, now);
    if (hit !== undefined) {
      const remembered = await hit.value;
      if (remembered.policy === policy) return remembered.refusal;
    }
    const value = this.judgePull(project, repository, digest, policy, manifest).then((refusal) => ({ policy, refusal }));
    this.pulls.set(repository, digest, { value, until: now + TTL_MS });
    return (await value).refusal;
  }

  private async judgePull(project: string, repository: string, digest: Digest, policy: ProjectPolicy, manifest: () => Promise<{ bytes: Uint8Array; mediaType: string } | undefined>): Promise<PullRefusal | undefined> {
    const m = await manifest();
    if (m === undefined) return undefined;
    const parsed = parseManifest(m.bytes, m.mediaType);
    if (parsed.kind !== 'image' || !isContainerImage(parsed)) return undefined;
    const decision = evaluatePull(policy, await this.gather(repository, digest, pullKeys(policy), repository));
    return decision.allowed ? undefined : { project, decision };
  }
}

/** Whether a waiver's scope (its project, a repository, one image of it) covers the image. */
function covers(w: WaiverRecord, repository: string, digest: Digest): boolean {
  return w.repository === null || (w.repository === repository && (w.digest === null || w.digest === digest));
}

/** The keys a pull gate needs signatures checked with. */
export function pullKeys(policy: ProjectPolicy): readonly string[] {
  return policy.requireSignature?.keys ?? [];
}
