/**
 * Promotion: a server-side copy of an image from one project to another of the same registry,
 * by digest, with no blob transfer (blobs are linked, as a cross-repository mount), carrying its
 * referrers (SBOMs, signatures, attestations, its scan report and result) and Cosign's tags with
 * it; a multi-platform index goes whole. The target project's promotion gates decide first: a
 * refused promotion changes nothing and says every gate that failed. On success the target's key
 * signs the promoted digest, the tag is set (immutable when a rule says so), and the promotion is
 * recorded; either way it is an event.
 */
import { isDigest, isTag, parseManifest, parseRepositoryName, type Descriptor, type Digest, type Manifest } from '../oci/index.js';
import { attachmentLayers, layerKey, tagManifest, type BuiltManifest } from '../sign/index.js';
import { evaluatePromotion, immutableRuleFor, describeRule, isCosignTag, type GateResult } from '../policy/index.js';
import type { Logger } from '../shared/index.js';
import type { GateOutcome, MetadataStore, PromotionRecord } from '../storage/index.js';
import type { ArtifactWriter, Origin } from './artifact-writer.js';
import type { EventBus } from './events.js';
import type { GateService } from './gates.js';
import type { PolicyService } from './policies.js';
import type { ScanService } from './scan.js';
import { SBOM_ARTIFACT_TYPES, type SbomService, type StoredSbomFormat } from './sbom.js';
import type { SigningService } from './signing.js';
import { AppError } from '../shared/index.js';

export type PromotionErrorCode =
  /** The source or target is not `project/repository` with a tag (or, for the source, a digest). */
  | 'REFERENCE_INVALID'
  /** No such image in the source repository. */
  | 'SOURCE_UNKNOWN';

export class PromotionError extends AppError<PromotionErrorCode> {
  constructor(code: PromotionErrorCode, message: string) {
    super(code, message);
    this.name = 'PromotionError';
  }
}

export interface PromotionServiceDeps {
  readonly meta: MetadataStore;
  readonly writer: ArtifactWriter;
  readonly policies: PolicyService;
  readonly gates: GateService;
  readonly scan: Pick<ScanService, 'scan' | 'enqueue'>;
  readonly sbom: Pick<SbomService, 'enqueue'>;
  readonly signing: Pick<SigningService, 'sign'>;
  readonly events: EventBus;
  readonly now: () => number;
  readonly log: Logger;
}

export interface PromotionAsk {
  /** `project/repository:tag` or `project/repository@digest`. */
  readonly source: string;
  /** `project/repository:tag`. */
  readonly target: string;
  readonly actor: string | null;
  readonly client: string | null;
  /** The registry host the target's signature names. */
  readonly host: string;
}

export type PromotionOutcome = { readonly kind: 'promoted'; readonly record: PromotionRecord } | { readonly kind: 'refused'; readonly record: PromotionRecord };

/** `project/repository:tag` or `@digest`, split. */
export function parseImageReference(text: string, what: 'source' | 'target'): { repository: string; project: string; reference: string; tag: string | null } {
  const at = text.lastIndexOf('@');
  let repository: string;
  let reference: string;
  let tag: string | null = null;
  if (at > 0) {
    repository = text.slice(0, at);
    reference = text.slice(at + 1);
    if (!isDigest(reference)) throw new PromotionError('REFERENCE_INVALID', `${what} "${text}": "${reference}" is not a digest`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= text.lastIndexOf('/')) throw new PromotionError('REFERENCE_INVALID', `${what} "${text}": give PROJECT/REPOSITORY:TAG${what === 'source' ? ' or PROJECT/REPOSITORY@DIGEST' : ''}`);
    repository = text.slice(0, colon);
    reference = text.slice(colon + 1);
    if (!isTag(reference)) throw new PromotionError('REFERENCE_INVALID', `${what} "${text}": "${reference}" is not a tag`);
    tag = reference;
  }
  let project: string;
  try {
    project = parseRepositoryName(repository).project;
  } catch (err) {
    throw new PromotionError('REFERENCE_INVALID', `${what} "${text}": ${(err as Error).message}`);
  }
  if (what === 'target' && tag === null) throw new PromotionError('REFERENCE_INVALID', `target "${text}": give the tag to set, PROJECT/REPOSITORY:TAG`);
  return { repository, project, reference, tag };
}

export class PromotionService {
  constructor(private readonly deps: PromotionServiceDeps) {}

  /** Judges and, when every gate passes, carries out a promotion. The caller checked pull on the source and push on the target. */
  async promote(ask: PromotionAsk): Promise<PromotionOutcome> {
    const { meta, now } = this.deps;
    const source = parseImageReference(ask.source, 'source');
    const target = parseImageReference(ask.target, 'target');
    const tag = target.tag!;
    const top = await meta.artifacts.getManifest(source.repository, source.reference, true);
    if (top?.content === undefined) throw new PromotionError('SOURCE_UNKNOWN', `${ask.source} not found`);
    const topManifest = parseManifest(top.content, top.mediaType);
    const images = topManifest.kind === 'index' ? topManifest.manifests.map((d) => d.digest) : [top.digest];

    const gates = await this.judge(source.repository, images, target.repository, top.digest, tag);
    const base = { source: source.repository, sourceDigest: top.digest, target: target.repository, targetTag: tag, targetProject: target.project, actor: ask.actor, createdAt: now() };
    if (!gates.every((g) => g.passed)) {
      const record = await meta.promotions.record({ ...base, outcome: 'refused', gates, signature: null });
      await this.emit(ask, record);
      return { kind: 'refused', record };
    }

    const origin: Origin = { kind: 'promotion', ...(ask.actor !== null ? { actor: ask.actor } : {}), ...(ask.client !== null ? { client: ask.client } : {}) };
    for (const d of images) await this.copyImage(source.repository, target.repository, d, origin);
    // An index's own signatures and attestations (an image's went with it).
    if (topManifest.kind === 'index') await this.copyAttachments(source.repository, target.repository, top.digest, origin);
    await this.deps.writer.putManifest(target.repository, top.content, top.mediaType, tag, origin, top.digest.startsWith('sha512:') ? 'sha512' : 'sha256');
    const signed = await this.deps.signing.sign(target.project, ask.host, target.repository, { mediaType: top.mediaType, digest: top.digest, size: top.size }, { 'dev.portcullis.promoted-from': `${source.repository}@${top.digest}` });
    const record = await meta.promotions.record({ ...base, outcome: 'promoted', gates, signature: signed?.signature ?? null });
    await this.emit(ask, record);
    return { kind: 'promoted', record };
  }

  /** Every gate of the target, for every image (an index: each of its images), and the target tag. */
  private async judge(sourceRepo: string, images: readonly Digest[], targetRepo: string, digest: Digest, tag: string): Promise<GateOutcome[]> {
    const { meta, policies, gates } = this.deps;
    const { project } = parseRepositoryName(targetRepo);
    const policy = await policies.policyOf(project);
    const out: GateOutcome[] = [];
    // The tag must be free to take this digest: an immutable tag elsewhere is refused before anything moves.
    const previous = (await meta.artifacts.getManifest(targetRepo, tag, false))?.digest;
    const rule = previous !== undefined && previous !== digest ? immutableRuleFor(policy, targetRepo.slice(project.length + 1), tag) : undefined;
    if (rule !== undefined) out.push({ gate: 'immutable-tag', passed: false, reason: `${targetRepo}:${tag} is immutable (${describeRule(rule)}) and holds ${previous}`, ids: [] });
    const promotion = policy.promotion;
    if (promotion === undefined) return out;
    // What a gated project takes in, its key signs: without a key there is nothing to sign with.
    if ((await meta.signingKeys.get(project)) === undefined) {
      out.push({ gate: 'signing-key', passed: false, reason: `project ${project} has no signing key to sign promoted images with: a project administrator creates one (portcullis project signing-key create ${project})`, ids: [] });
    }
    const maxAge = promotion.requireScan?.maxAgeMs;
    for (const d of images) {
      if (maxAge !== undefined) await this.freshScan(sourceRepo, d, maxAge);
      const facts = await gates.factsOf(sourceRepo, d, promotion.requireSignature?.keys ?? [], targetRepo);
      const decision = evaluatePromotion(promotion, facts, this.deps.now());
      const prefix = images.length > 1 ? `${d.slice(0, 19)}…: ` : '';
      out.push(...decision.gates.map((g: GateResult): GateOutcome => ({ gate: g.gate, passed: g.passed, reason: `${prefix}${g.reason}`, ids: [...g.ids] })));
    }
    return out;
  }

  /** Scans the image first when its result is missing or was made against a DB older than `maxAge`. */
  private async freshScan(repository: string, digest: Digest, maxAgeMs: number): Promise<void> {
    const result = await this.deps.meta.scans.get(repository, digest);
    const built = result?.dbBuiltAt === null || result === undefined ? NaN : Date.parse(result.dbBuiltAt);
    if (Number.isFinite(built) && this.deps.now() - built <= maxAgeMs) return;
    await this.deps.scan.scan(repository, digest);
    this.deps.gates.invalidateRepository(repository);
  }

  /** An image's blobs (linked, not copied), the image by digest, its referrers and its results. The tag comes last. */
  private async copyImage(from: string, to: string, digest: Digest, origin: Origin): Promise<void> {
    const { meta, writer } = this.deps;
    const m = await meta.artifacts.getManifest(from, digest, true);
    if (m?.content === undefined) throw new PromotionError('SOURCE_UNKNOWN', `${from}@${digest} is no longer stored`);
    await this.linkBlobs(from, to, parseManifest(m.content, m.mediaType));
    await writer.putManifest(to, m.content, m.mediaType, null, origin, digest.startsWith('sha512:') ? 'sha512' : 'sha256');
    await this.copyAttachments(from, to, digest, origin);
    await this.copyResults(from, to, digest);
  }

  private async linkBlobs(from: string, to: string, manifest: Manifest): Promise<void> {
    if (manifest.kind !== 'image') return;
    for (const d of [manifest.config, ...manifest.layers.filter((l) => l.urls === undefined || l.urls.length === 0)]) {
      if ((await this.deps.writer.mountBlob(from, to, d.digest)) === undefined) throw new PromotionError('SOURCE_UNKNOWN', `blob ${d.digest} of ${from} is missing: the image cannot be promoted`);
    }
  }

  /** The referrers of `digest` (SBOMs, signatures, attestations, scan reports) and Cosign's tags for it. */
  private async copyAttachments(from: string, to: string, digest: Digest, origin: Origin): Promise<void> {
    const { meta, writer } = this.deps;
    const copy = async (ref: string, tag: string | null): Promise<void> => {
      const m = await meta.artifacts.getManifest(from, ref, true);
      if (m?.content === undefined) return;
      await this.linkBlobs(from, to, parseManifest(m.content, m.mediaType));
      await writer.putManifest(to, m.content, m.mediaType, tag, origin);
    };
    for (const r of await meta.artifacts.referrers(from, digest, null)) await copy(r.digest, null);
    const hex = digest.slice(digest.indexOf(':') + 1);
    for (const suffix of ['sig', 'att', 'sbom']) {
      const tag = `sha256-${hex}.${suffix}`;
      if (!isCosignTag(tag)) continue;
      const there = await meta.artifacts.getManifest(to, tag, true);
      if (there?.content === undefined) await copy(tag, tag);
      else await this.mergeCosignTag(from, to, tag, there.content, there.mediaType, origin);
    }
  }

  /**
   * The target holds the Cosign tag already (its own key signed the image, or it was promoted
   * before): the source's signatures are added to it, none of the target's is dropped.
   */
  private async mergeCosignTag(from: string, to: string, tag: string, theirs: Uint8Array, theirType: string, origin: Origin): Promise<void> {
    const { meta, writer } = this.deps;
    const source = await meta.artifacts.getManifest(from, tag, true);
    if (source?.content === undefined) return;
    let layers: Descriptor[];
    let added: Descriptor[];
    try {
      layers = attachmentLayers(theirs, theirType);
      added = attachmentLayers(source.content, source.mediaType);
    } catch (err) {
      this.deps.log.warn({ err, from, to, tag }, 'a Cosign tag is not a signature manifest: not carried');
      return;
    }
    const have = new Set(layers.map(layerKey));
    let built: BuiltManifest | undefined;
    for (const l of added) {
      if (have.has(layerKey(l)) || (await writer.mountBlob(from, to, l.digest as Digest)) === undefined) continue;
      have.add(layerKey(l));
      built = tagManifest(layers, l);
      layers = [...layers, l];
    }
    if (built === undefined) return;
    await writer.putBytes(to, built.configDigest as Digest, built.config);
    await writer.putManifest(to, built.manifest, 'application/vnd.oci.image.manifest.v1+json', tag, origin);
  }

  /** The SBOMs Portcullis made and the scan result go with the image (the referrers carried them); what is missing is made again. */
  private async copyResults(from: string, to: string, digest: Digest): Promise<void> {
    const { meta, now } = this.deps;
    let sbomMissing = false;
    for (const format of Object.keys(SBOM_ARTIFACT_TYPES) as StoredSbomFormat[]) {
      const doc = await meta.documents.get(from, digest, format);
      if (doc === undefined || !(await meta.documents.put(to, digest, format, doc, now()))) sbomMissing = true;
    }
    if (sbomMissing) await this.deps.sbom.enqueue(to, digest);
    const e = await meta.scans.evaluation(from, digest);
    const carried = e?.vulnerabilities !== undefined && (await meta.scans.put({ ...e.record, repository: to }, { vulnerabilities: e.vulnerabilities, ...(e.keys !== undefined ? { keys: e.keys } : {}) }));
    if (!carried) await this.deps.scan.enqueue(to, digest);
  }

  private async emit(ask: PromotionAsk, record: PromotionRecord): Promise<void> {
    await this.deps.events.emit({
      action: 'promotion',
      actor: ask.actor,
      client: ask.client,
      project: record.targetProject,
      resource: `${record.source}@${record.sourceDigest} -> ${record.target}:${record.targetTag ?? ''}`,
      outcome: record.outcome === 'promoted' ? 'succeeded' : 'refused',
      detail: { promotion: record.id, source: record.source, digest: record.sourceDigest, target: record.target, tag: record.targetTag, gates: record.gates.filter((g) => !g.passed), signature: record.signature },
    });
  }
}
