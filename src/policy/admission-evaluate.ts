/**
 * Judging an image that is about to start, by the admission policy: which rule decides it (the
 * registry first, then the first rule whose globs match the image and whose namespace terms match
 * the namespace, else the default), what that rule needs to know of the image's digest, and the
 * verdict on those facts: every requirement that fails, each with a code a machine can match and a
 * message a person can act on. Pure: the facts are gathered elsewhere.
 */
import picomatch from 'picomatch';
import type { AdmissionMode, AdmissionPolicy, AdmissionRule, LabelSelector } from './admission.js';
import { SEVERITIES, type Severity, type Threshold } from './model.js';

/** An image reference as a pod names it, parsed (Docker Hub names normalized: `docker.io/library/nginx`). */
export interface AdmissionImage {
  /** As written in the pod spec. */
  readonly text: string;
  readonly registry: string;
  readonly repository: string;
  /** `latest` when the reference names neither a tag nor a digest. */
  readonly tag?: string;
  readonly digest?: string;
}

export interface AdmissionNamespace {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type AdmissionReasonCode =
  /** The image reference does not parse. */
  | 'IMAGE_INVALID'
  /** The image comes from a registry the policy does not list. */
  | 'REGISTRY_NOT_ALLOWED'
  /** No rule matches the image and the default is to deny. */
  | 'NO_RULE'
  /** The image is named by `latest` (or by no tag). */
  | 'LATEST_TAG'
  /** The image is not named by digest. */
  | 'NOT_DIGEST_PINNED'
  /** The tag could not be resolved to a digest (no such image, the registry refused or failed). */
  | 'UNRESOLVED'
  /** Too few signatures verify with the keys the rule names. */
  | 'SIGNATURE'
  /** An attestation the rule asks for is missing or does not verify. */
  | 'ATTESTATION'
  /** Findings at or above the rule's severity. */
  | 'SEVERITY'
  /** No scan result for the digest, and the rule denies unscanned images. */
  | 'UNSCANNED'
  /** No SBOM of the digest in the registry. */
  | 'SBOM_MISSING'
  /** The digest was not promoted into the project the rule names. */
  | 'NOT_PROMOTED'
  /** What the rule needs could not be learned in time (a registry that hangs or fails, not Portcullis; the namespace's labels). */
  | 'FACTS_UNAVAILABLE'
  /** The webhook failed while judging (its log says why): denied, never admitted by accident. */
  | 'INTERNAL';

export interface AdmissionReason {
  readonly code: AdmissionReasonCode;
  readonly message: string;
}

/** Which rule decides an image, before anything is fetched. */
export type AdmissionMatch =
  | { readonly kind: 'registry-denied'; readonly reason: AdmissionReason }
  | { readonly kind: 'default'; readonly action: 'allow' | 'deny' }
  | { readonly kind: 'rule'; readonly rule: AdmissionRule };

/** Findings counted by severity (approved waivers aside). */
export type SeverityCounts = Readonly<Record<Lowercase<Severity>, number>>;

/**
 * What the registry told of a digest. `undefined` for a fact the rule does not need; `unavailable`
 * (with why) when it needs it and it could not be learned.
 */
export interface AdmissionFacts {
  readonly digest: string;
  /** For each key of `require.signatures.keys`, whether a signature verifies with it; and why not, in words. */
  readonly signatures?: { readonly verified: readonly boolean[]; readonly found: number; readonly notes: readonly string[] } | Unavailable;
  /** For each `require.attestations` entry, whether one verifies; and why not. */
  readonly attestations?: { readonly verified: readonly boolean[]; readonly notes: readonly string[] } | Unavailable;
  readonly scan?: { readonly findings: SeverityCounts; readonly ids: readonly string[] } | 'unscanned' | Unavailable;
  readonly sbom?: boolean | Unavailable;
  /** The projects the digest was promoted into. */
  readonly promotedTo?: readonly string[] | Unavailable;
}

export interface Unavailable {
  readonly unavailable: string;
}

export interface AdmissionVerdict {
  readonly image: string;
  readonly digest: string | undefined;
  /** The deciding rule's name; null for the registry check and the default. */
  readonly rule: string | null;
  readonly mode: AdmissionMode;
  /** Whether this image lets the object in (warn and audit always do). */
  readonly allowed: boolean;
  /** Every requirement that failed (for warn and audit too: they are reported, not enforced). */
  readonly reasons: readonly AdmissionReason[];
}

const globs = new Map<string, (s: string) => boolean>();
function globMatch(glob: string, value: string): boolean {
  let m = globs.get(glob);
  if (m === undefined) {
    m = picomatch(glob, { dot: true });
    if (globs.size > 5000) globs.clear();
    globs.set(glob, m);
  }
  return m(value);
}

const normalizeRegistry = (r: string): string => (r === 'index.docker.io' || r === 'registry-1.docker.io' ? 'docker.io' : r.toLowerCase());

function selects(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

function ruleMatches(rule: AdmissionRule, name: string, ns: AdmissionNamespace): boolean {
  if (!rule.images.some((g) => globMatch(g, name))) return false;
  const n = rule.namespaces;
  if (n === undefined) return true;
  if (n.names !== undefined && !n.names.some((g) => globMatch(g, ns.name))) return false;
  if (n.selector !== undefined && !selects(n.selector, ns.labels)) return false;
  return true;
}

/** The registry check, then the first matching rule, else the default. */
export function matchAdmission(policy: AdmissionPolicy, image: AdmissionImage, ns: AdmissionNamespace): AdmissionMatch {
  const registry = normalizeRegistry(image.registry);
  if (policy.allowedRegistries !== undefined && !policy.allowedRegistries.some((r) => normalizeRegistry(r) === registry)) {
    return { kind: 'registry-denied', reason: { code: 'REGISTRY_NOT_ALLOWED', message: `registry ${registry} is not one the policy allows (${policy.allowedRegistries.join(', ') || 'none'})` } };
  }
  const name = `${registry}/${image.repository}`;
  const rule = policy.rules.find((r) => ruleMatches(r, name, ns));
  return rule !== undefined ? { kind: 'rule', rule } : { kind: 'default', action: policy.defaultAction };
}

/**
 * Whether the namespace's labels could change which rule decides the image: a rule with a label
 * selector matches the image and the namespace's name, and comes no later than the rule that
 * decides without labels. When the labels cannot be read, such an image cannot be judged.
 */
export function labelsMatter(policy: AdmissionPolicy, image: AdmissionImage, namespaceName: string): boolean {
  const name = `${normalizeRegistry(image.registry)}/${image.repository}`;
  const ns: AdmissionNamespace = { name: namespaceName, labels: {} };
  for (const r of policy.rules) {
    if (!r.images.some((g) => globMatch(g, name))) continue;
    if (r.namespaces?.names !== undefined && !r.namespaces.names.some((g) => globMatch(g, namespaceName))) continue;
    if (r.namespaces?.selector !== undefined) return true;
    if (ruleMatches(r, name, ns)) return false;
  }
  return false;
}

/** What a rule needs of the registry for a digest (nothing for the name checks alone). */
export function factsNeeded(rule: AdmissionRule): { signatures: boolean; attestations: boolean; scan: boolean; sbom: boolean; promotion: boolean; digest: boolean } {
  const r = rule.require;
  const signatures = r.signatures !== undefined;
  const attestations = (r.attestations?.length ?? 0) > 0;
  const scan = r.maxSeverity !== undefined;
  const sbom = r.sbom === true;
  const promotion = r.promotedTo !== undefined;
  return { signatures, attestations, scan, sbom, promotion, digest: signatures || attestations || scan || sbom || promotion };
}

const RANK: Readonly<Record<Threshold, number>> = { critical: 4, high: 3, medium: 2, low: 1 };
const isUnavailable = (x: unknown): x is Unavailable => typeof x === 'object' && x !== null && 'unavailable' in x;

/** The requirements of a rule that fail on the image's name alone (before any fetch). */
export function nameReasons(rule: AdmissionRule, image: AdmissionImage): AdmissionReason[] {
  const out: AdmissionReason[] = [];
  const r = rule.require;
  if (r.digestPinned === true && image.digest === undefined) out.push({ code: 'NOT_DIGEST_PINNED', message: 'the image is not named by digest (name@sha256:…)' });
  else if (r.noLatest === true && image.digest === undefined && (image.tag ?? 'latest') === 'latest') out.push({ code: 'LATEST_TAG', message: 'the image is named by the tag latest (or by no tag), which can be another image tomorrow' });
  return out;
}

/** Every requirement of `rule` that the facts of the image's digest fail. */
export function factReasons(rule: AdmissionRule, facts: AdmissionFacts): AdmissionReason[] {
  const out: AdmissionReason[] = [];
  const r = rule.require;
  if (r.signatures !== undefined) {
    const s = facts.signatures;
    if (s === undefined || isUnavailable(s)) out.push({ code: 'FACTS_UNAVAILABLE', message: `its signatures could not be checked: ${s === undefined ? 'not fetched' : s.unavailable}` });
    else {
      const n = s.verified.filter(Boolean).length;
      if (n < r.signatures.minSignatures) {
        const found = s.found === 0 ? 'it has no signature' : `${s.found} signature${s.found === 1 ? '' : 's'} found, ${n} verif${n === 1 ? 'ies' : 'y'} with the rule's keys`;
        out.push({ code: 'SIGNATURE', message: `needs ${r.signatures.minSignatures} signature${r.signatures.minSignatures === 1 ? '' : 's'} that verify with the rule's keys; ${found}${s.notes.length > 0 ? ` (${s.notes.slice(0, 3).join('; ')})` : ''}` });
      }
    }
  }
  if (r.attestations !== undefined && r.attestations.length > 0) {
    const a = facts.attestations;
    if (a === undefined || isUnavailable(a)) out.push({ code: 'FACTS_UNAVAILABLE', message: `its attestations could not be checked: ${a === undefined ? 'not fetched' : a.unavailable}` });
    else {
      r.attestations.forEach((want, i) => {
        if (a.verified[i] !== true) out.push({ code: 'ATTESTATION', message: `no ${want.predicateType} attestation verifies with the rule's key${a.notes[i] !== undefined && a.notes[i] !== '' ? ` (${a.notes[i]})` : ''}` });
      });
    }
  }
  if (r.maxSeverity !== undefined) {
    const s = facts.scan;
    if (s === undefined || isUnavailable(s)) out.push({ code: 'FACTS_UNAVAILABLE', message: `its scan could not be read: ${s === undefined ? 'not fetched' : s.unavailable}` });
    else if (s === 'unscanned') {
      if (r.unscanned !== 'allow') out.push({ code: 'UNSCANNED', message: 'the registry has no scan result for this digest yet' });
    } else {
      const over = SEVERITIES.filter((sev) => sev !== 'UNKNOWN' && RANK[sev.toLowerCase() as Threshold] >= RANK[r.maxSeverity!]);
      const counts = over.map((sev) => [sev, s.findings[sev.toLowerCase() as Lowercase<Severity>]] as const).filter(([, n]) => n > 0);
      if (counts.length > 0) {
        const ids = s.ids.slice(0, 5);
        out.push({ code: 'SEVERITY', message: `${counts.map(([sev, n]) => `${n} ${sev.toLowerCase()}`).join(', ')} finding${counts.reduce((a, [, n]) => a + n, 0) === 1 ? '' : 's'} at or above ${r.maxSeverity}${ids.length > 0 ? `: ${ids.join(', ')}${s.ids.length > ids.length ? ` and ${s.ids.length - ids.length} more` : ''}` : ''}` });
      }
    }
  }
  if (r.sbom === true) {
    const s = facts.sbom;
    if (s === undefined || isUnavailable(s)) out.push({ code: 'FACTS_UNAVAILABLE', message: `whether it has an SBOM could not be learned: ${s === undefined ? 'not fetched' : s.unavailable}` });
    else if (!s) out.push({ code: 'SBOM_MISSING', message: 'the registry holds no SBOM of this digest' });
  }
  if (r.promotedTo !== undefined) {
    const p = facts.promotedTo;
    if (p === undefined || isUnavailable(p)) out.push({ code: 'FACTS_UNAVAILABLE', message: `its promotions could not be read: ${p === undefined ? 'not fetched' : p.unavailable}` });
    else if (!p.includes(r.promotedTo)) out.push({ code: 'NOT_PROMOTED', message: `it was not promoted into ${r.promotedTo}${p.length > 0 ? ` (only into ${p.join(', ')})` : ''}` });
  }
  return out;
}

/** The verdict on one image: a rule's reasons in its mode, the registry check, or the default. */
export function verdictOf(image: AdmissionImage, match: AdmissionMatch, digest: string | undefined, reasons: readonly AdmissionReason[]): AdmissionVerdict {
  switch (match.kind) {
    case 'registry-denied':
      return { image: image.text, digest, rule: null, mode: 'enforce', allowed: false, reasons: [match.reason] };
    case 'default':
      return match.action === 'allow'
        ? { image: image.text, digest, rule: null, mode: 'enforce', allowed: true, reasons: [] }
        : { image: image.text, digest, rule: null, mode: 'enforce', allowed: false, reasons: [{ code: 'NO_RULE', message: 'no rule of the policy matches this image, and the default is to deny' }] };
    case 'rule':
      return { image: image.text, digest, rule: match.rule.name, mode: match.rule.mode, allowed: match.rule.mode !== 'enforce' || reasons.length === 0, reasons };
  }
}

/** One line per verdict that did not pass: the image, the rule and every reason. */
export function describeVerdict(v: AdmissionVerdict): string {
  const by = v.rule === null ? 'the policy' : `rule ${v.rule}`;
  return `image ${v.image}${v.digest !== undefined && !v.image.includes('@') ? ` (${v.digest})` : ''} ${v.mode === 'enforce' ? 'is denied' : 'would be denied'} by ${by}: ${v.reasons.map((r) => r.message).join('; ')}`;
}
