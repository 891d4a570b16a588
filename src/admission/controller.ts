/**
 * One admission decision: the images of an object judged by the policy in force, within the
 * review's deadline, into an answer (allowed or denied with every reason, warnings, and for the
 * mutating endpoint a patch that pins each admitted image to the digest that was judged). Any
 * failure, of a registry or of this code, denies: an object is never admitted by accident.
 */
import { ImageError, parseRegistryReference } from '../image/index.js';
import type { Digest } from '../oci/index.js';
import { describeVerdict, factReasons, factsNeeded, labelsMatter, matchAdmission, nameReasons, verdictOf, type AdmissionImage, type AdmissionMatch, type AdmissionNamespace, type AdmissionReason, type AdmissionVerdict } from '../policy/index.js';
import type { Logger } from '../shared/index.js';
import { DeadlineExceeded, type FactSource } from './facts.js';
import type { NamespaceSource } from './namespaces.js';
import type { LoadedPolicy } from './policy-file.js';
import type { ImageSite, ReviewAnswer, ReviewRequest } from './review.js';
import { imagesOf } from './review.js';

export interface ControllerDeps {
  readonly policy: () => LoadedPolicy;
  readonly facts: FactSource;
  readonly namespaces: NamespaceSource;
  /** The longest a review may take before it answers (below the webhook's timeoutSeconds). */
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly log: Logger;
}

export interface Decision {
  readonly answer: ReviewAnswer;
  /** One per distinct image judged (none for an object this webhook does not judge). */
  readonly verdicts: readonly AdmissionVerdict[];
}

export class AdmissionController {
  constructor(private readonly deps: ControllerDeps) {}

  /** Judges the images of a review's object; `mutate` adds the digest pins. */
  async decide(request: ReviewRequest, mutate: boolean): Promise<Decision> {
    const sites = imagesOf(request);
    if (sites === undefined || sites.length === 0) return { answer: { allowed: true }, verdicts: [] };
    // The deadline's timer goes with the review (AbortSignal.timeout would live on for its whole span).
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.deps.timeoutMs);
    try {
      return await this.decideWithin(sites, request, mutate, deadline.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async decideWithin(sites: readonly ImageSite[], request: ReviewRequest, mutate: boolean, signal: AbortSignal): Promise<Decision> {
    const { policy } = this.deps.policy();
    const ns = request.namespace ?? namespaceOf(request.object) ?? 'default';
    let namespace: AdmissionNamespace = { name: ns, labels: { 'kubernetes.io/metadata.name': ns } };
    let labelsMissing: string | undefined;
    if (policy.rules.some((r) => r.namespaces?.selector !== undefined)) {
      const labels = await this.deps.namespaces.labels(ns, signal);
      if (typeof labels === 'string') labelsMissing = labels;
      else namespace = { name: ns, labels: { ...labels, 'kubernetes.io/metadata.name': ns } };
    }
    const distinct = [...new Set(sites.map((s) => s.image))];
    const judged = await Promise.all(distinct.map((image) => this.judge(image, namespace, labelsMissing, signal, mutate)));
    const byImage = new Map(distinct.map((image, i) => [image, judged[i]!]));
    const verdicts = judged.map((j) => j.verdict);
    const denied = verdicts.filter((v) => !v.allowed);
    const warned = verdicts.filter((v) => v.allowed && v.mode === 'warn' && v.reasons.length > 0);
    if (denied.length > 0) {
      return { answer: { allowed: false, code: 403, message: denied.map(describeVerdict).join('\n'), warnings: warned.map(describeVerdict) }, verdicts };
    }
    const patch = mutate ? pins(sites, byImage) : [];
    return { answer: { allowed: true, ...(warned.length > 0 ? { warnings: warned.map(describeVerdict) } : {}), ...(patch.length > 0 ? { patch } : {}) }, verdicts };
  }

  private async judge(text: string, namespace: AdmissionNamespace, labelsMissing: string | undefined, signal: AbortSignal, mutate: boolean): Promise<{ verdict: AdmissionVerdict; digest?: Digest }> {
    let image: AdmissionImage;
    try {
      const r = parseRegistryReference(text);
      image = { text, registry: r.registry, repository: r.repository, ...(r.tag !== undefined ? { tag: r.tag } : {}), ...(r.digest !== undefined ? { digest: r.digest } : {}) };
    } catch (err) {
      const message = err instanceof ImageError ? err.message : `the image reference does not parse: ${(err as Error).message}`;
      return { verdict: { image: text, digest: undefined, rule: null, mode: 'enforce', allowed: false, reasons: [{ code: 'IMAGE_INVALID', message }] } };
    }
    const { policy, keyOf } = this.deps.policy();
    let match: AdmissionMatch = matchAdmission(policy, image, namespace);
    // A rule that selects namespaces by label cannot be told from one that does not match when the
    // labels are unknown: an image a rule might judge so is denied, never passed to the next rule.
    if (labelsMissing !== undefined && match.kind !== 'registry-denied' && labelsMatter(policy, image, namespace.name)) {
      return { verdict: { image: text, digest: image.digest, rule: null, mode: 'enforce', allowed: false, reasons: [{ code: 'FACTS_UNAVAILABLE', message: `the labels of namespace ${namespace.name} are needed by the policy and could not be read: ${labelsMissing}` }] } };
    }
    if (match.kind !== 'rule') {
      const digest = mutate && match.kind === 'default' && match.action === 'allow' ? await this.pinFor(image, signal) : undefined;
      return { verdict: verdictOf(image, match, digest ?? image.digest, []), ...(digest !== undefined ? { digest } : {}) };
    }
    const rule = match.rule;
    const reasons: AdmissionReason[] = nameReasons(rule, image);
    const need = factsNeeded(rule);
    let digest: Digest | undefined = image.digest as Digest | undefined;
    if (need.digest || mutate) {
      try {
        const resolved = await this.deps.facts.resolve(image, signal);
        if ('unavailable' in resolved) {
          if (need.digest) reasons.push({ code: 'UNRESOLVED', message: resolved.unavailable });
        } else digest = resolved.digest;
        if (need.digest && digest !== undefined) reasons.push(...factReasons(rule, await this.deps.facts.facts(image, digest, rule, keyOf, signal)));
      } catch (err) {
        reasons.push(failure(err));
      }
    }
    match = { kind: 'rule', rule };
    return { verdict: verdictOf(image, match, digest, reasons), ...(digest !== undefined ? { digest } : {}) };
  }

  /** The digest to pin an image the default lets in to; none when it cannot be learned in time. */
  private async pinFor(image: AdmissionImage, signal: AbortSignal): Promise<Digest | undefined> {
    if (image.digest !== undefined) return image.digest as Digest;
    try {
      const r = await this.deps.facts.resolve(image, signal);
      return 'unavailable' in r ? undefined : r.digest;
    } catch {
      return undefined;
    }
  }
}

function failure(err: unknown): AdmissionReason {
  if (err instanceof DeadlineExceeded) return { code: 'FACTS_UNAVAILABLE', message: err.message };
  return { code: 'INTERNAL', message: `the webhook failed while judging the image: ${err instanceof Error ? err.message : String(err)}` };
}

function namespaceOf(object: unknown): string | undefined {
  const ns = (object as { metadata?: { namespace?: unknown } } | null)?.metadata?.namespace;
  return typeof ns === 'string' && ns !== '' ? ns : undefined;
}

/** The JSONPatch that names each admitted image by its digest (`name@sha256:…`, its tag dropped). */
function pins(sites: readonly ImageSite[], judged: ReadonlyMap<string, { verdict: AdmissionVerdict; digest?: Digest }>): { op: 'replace'; path: string; value: string }[] {
  const out: { op: 'replace'; path: string; value: string }[] = [];
  for (const s of sites) {
    const j = judged.get(s.image);
    if (j === undefined || !j.verdict.allowed || j.digest === undefined || s.image.includes('@')) continue;
    out.push({ op: 'replace', path: s.pointer, value: `${withoutTag(s.image)}@${j.digest}` });
  }
  return out;
}

/** `host:5000/team/app:1.0` → `host:5000/team/app` (a colon after the last slash is the tag's). */
function withoutTag(image: string): string {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(0, colon) : image;
}
