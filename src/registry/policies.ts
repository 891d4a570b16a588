/**
 * Projects' policies in the registry: the documents as stored, parsed once and remembered for a
 * few seconds (a policy changed on another replica takes effect there within that time; here at
 * once), and the write guard they make: immutable tags stay where they are, and a project with
 * promotion gates takes new images only by promotion.
 */
import { parseRepositoryName, type Digest, type Manifest } from '../oci/index.js';
import { describeRule, directPushAllowed, EMPTY_POLICY, immutableRuleFor, parsePolicy, PolicyError, type ProjectPolicy } from '../policy/index.js';
import { loadPublicKey } from '../sign/index.js';
import type { Logger } from '../shared/index.js';
import type { MetadataStore } from '../storage/index.js';
import { ArtifactWriteError, type Origin, type WriteGuard } from './artifact-writer.js';
import { isContainerImage } from './sbom.js';

/** How long a parsed policy is remembered. */
const TTL_MS = 5_000;

export interface PolicyServiceDeps {
  readonly meta: MetadataStore;
  readonly now: () => number;
  readonly log: Logger;
}

export class PolicyService implements WriteGuard {
  private readonly cache = new Map<string, { policy: ProjectPolicy; until: number }>();
  private readonly listeners: ((project: string) => void)[] = [];

  constructor(private readonly deps: PolicyServiceDeps) {}

  /** Tells `listener` of every policy change made here (caches of decisions listen). */
  onChange(listener: (project: string) => void): void {
    this.listeners.push(listener);
  }

  /** The project's policy; the empty policy when it has none (or the project does not exist). */
  async policyOf(project: string): Promise<ProjectPolicy> {
    const now = this.deps.now();
    const hit = this.cache.get(project);
    if (hit !== undefined && hit.until > now) return hit.policy;
    const stored = await this.deps.meta.policies.get(project);
    let policy = EMPTY_POLICY;
    if (stored !== undefined) {
      try {
        policy = parsePolicy(JSON.parse(stored.document));
      } catch (err) {
        // Stored documents were validated by this build or an older one: a policy that no longer
        // reads must not open the gates. Fail closed: refuse what the gates would judge.
        this.deps.log.error({ err, project }, 'the stored policy does not read: pulls and pushes in the project are refused until it is replaced');
        throw new ArtifactWriteError('DENIED', `the policy of project ${project} does not read (${(err as Error).message}): a project admin must replace it`);
      }
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(project, { policy, until: now + TTL_MS });
    return policy;
  }

  /** The stored document as given, with who changed it last. */
  async documentOf(project: string): Promise<{ document: unknown; updatedAt: number; updatedBy: string | null } | undefined> {
    const stored = await this.deps.meta.policies.get(project);
    return stored === undefined ? undefined : { document: JSON.parse(stored.document) as unknown, updatedAt: stored.updatedAt, updatedBy: stored.updatedBy };
  }

  /**
   * Validates and stores a project's policy. Keys it names must exist now (a typo would otherwise
   * make a gate that nothing passes, found only when a pull fails). PolicyError names the bad key.
   */
  async put(project: string, document: unknown, actor: string | null): Promise<ProjectPolicy> {
    const policy = parsePolicy(document);
    await this.checkKeys(project, policy);
    if (!(await this.deps.meta.policies.put({ project, document: JSON.stringify(document), updatedAt: this.deps.now(), updatedBy: actor }))) {
      throw new PolicyError('POLICY_INVALID', `project ${project} does not exist`, { detail: { path: '(the project)' } });
    }
    this.cache.delete(project);
    for (const l of this.listeners) l(project);
    return policy;
  }

  private async checkKeys(project: string, policy: ProjectPolicy): Promise<void> {
    const named: [string, readonly string[]][] = [];
    if (policy.requireSignature !== undefined) named.push(['requireSignature.keys', policy.requireSignature.keys]);
    if (policy.promotion?.requireSignature !== undefined) named.push(['promotion.requireSignature.keys', policy.promotion.requireSignature.keys]);
    for (const [path, keys] of named) {
      for (const [i, k] of keys.entries()) {
        const where = `${path}.${i}`;
        const problem = await this.keyProblem(project, k);
        if (problem !== undefined) throw new PolicyError('POLICY_INVALID', `${where}: ${problem}`, { detail: { path: where } });
      }
    }
  }

  private async keyProblem(project: string, key: string): Promise<string | undefined> {
    if (key === 'project') return undefined; // the project's own key: created when it is needed
    if (key.startsWith('project:')) {
      const other = key.slice('project:'.length);
      return (await this.deps.meta.projects.get(other)) === undefined ? `project "${other}" does not exist` : undefined;
    }
    if (key.startsWith('trusted:')) {
      const name = key.slice('trusted:'.length);
      return (await this.deps.meta.trustedKeys.list(project)).some((k) => k.name === name) ? undefined : `project ${project} trusts no key named "${name}": add it first (POST /api/v1/projects/${project}/trusted-keys)`;
    }
    try {
      loadPublicKey(key, 'the key');
      return undefined;
    } catch (err) {
      return `not a usable public key: ${(err as Error).message}`;
    }
  }

  // ------------------------------------------------------------ the write guard

  async storing(repository: string, write: { readonly digest: Digest; readonly manifest: Manifest; readonly tag: string | null; readonly previous: Digest | undefined }, origin: Origin): Promise<void> {
    const { project } = parseRepositoryName(repository);
    const policy = await this.policyOf(project);
    const { tag } = write;
    const image = write.manifest.kind === 'index' || isContainerImage(write.manifest);
    if (origin.kind === 'client' && !directPushAllowed(policy, { tag, image })) {
      throw new ArtifactWriteError('DENIED', `project ${project} takes new images only by promotion (its policy has promotion gates): promote one into it (portcullis promote SOURCE ${repository}${tag !== null ? `:${tag}` : ''}) or set promotion.allowDirectPush`);
    }
    if (tag !== null && write.previous !== undefined && write.previous !== write.digest) {
      const rule = immutableRuleFor(policy, repository.slice(project.length + 1), tag);
      if (rule !== undefined) throw new ArtifactWriteError('DENIED', `tag ${repository}:${tag} is immutable (${describeRule(rule)}): it keeps ${write.previous}; push a new tag instead`);
    }
  }

  async deleting(repository: string, tags: readonly string[], origin: Origin): Promise<void> {
    void origin;
    const { project } = parseRepositoryName(repository);
    const policy = await this.policyOf(project);
    for (const tag of tags) {
      const rule = immutableRuleFor(policy, repository.slice(project.length + 1), tag);
      if (rule !== undefined) throw new ArtifactWriteError('DENIED', `tag ${repository}:${tag} is immutable (${describeRule(rule)}): it cannot be deleted`);
    }
  }
}
