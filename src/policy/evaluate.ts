/**
 * Judging images by a policy: pure functions of the policy and the facts, answering decisions
 * as values (what passed, what failed and why, with the ids behind it). The pull gate, promotion
 * and admission all decide through here.
 */
import picomatch from 'picomatch';
import { SEVERITIES, type Decision, type Finding, type GateResult, type ImageFacts, type ImmutableTagRule, type ProjectPolicy, type PromotionGates, type Selector, type Severity, type SignatureRequirement, type Threshold } from './model.js';

const RANK: Readonly<Record<Severity, number>> = { CRITICAL: 4, HIGH: 3, MEDIUM: 2, LOW: 1, UNKNOWN: 0 };
const BAR: Readonly<Record<Threshold, number>> = { critical: 4, high: 3, medium: 2, low: 1 };

/** Ids named in a refusal, at most: enough to act on, short enough to read. */
const NAMED = 5;

/** Cosign's attachment tags (`sha256-<hex>.sig`, `.att`, `.sbom`): exempt from immutability and from promotion-only, as in Harbor. */
export function isCosignTag(tag: string): boolean {
  return /^sha256-[a-f0-9]{64}\.(sig|att|sbom)$/.test(tag);
}

const matchers = new Map<string, (s: string) => boolean>();
function matches(selector: Selector, value: string): boolean {
  const glob = 'matching' in selector ? selector.matching : selector.excluding;
  let m = matchers.get(glob);
  if (m === undefined) {
    m = picomatch(glob, { dot: true });
    if (matchers.size > 1000) matchers.clear();
    matchers.set(glob, m);
  }
  return 'matching' in selector ? m(value) : !m(value);
}

/** The rule that makes `tag` of the repository (its name within the project) immutable, if one does. */
export function immutableRuleFor(policy: ProjectPolicy, repository: string, tag: string): ImmutableTagRule | undefined {
  if (isCosignTag(tag)) return undefined;
  return policy.immutableTags.find((r) => matches(r.repositories, repository) && matches(r.tags, tag));
}

/** A rule in words, for messages. */
export function describeRule(rule: ImmutableTagRule): string {
  const sel = (s: Selector) => ('matching' in s ? s.matching : `not ${s.excluding}`);
  return `immutable tags: repositories ${sel(rule.repositories)}, tags ${sel(rule.tags)}`;
}

/**
 * Whether a client may write this directly into a project (not by promotion). A project with
 * promotion gates takes from clients only what attaches to its images: signatures, attestations
 * and SBOMs, by digest or under Cosign's tags; never an image or an index (whatever its tag or
 * subject), never another tag. Unless its policy says `allowDirectPush`.
 */
export function directPushAllowed(policy: ProjectPolicy, write: { readonly tag: string | null; readonly image: boolean }): boolean {
  if (policy.promotion === undefined || policy.promotion.allowDirectPush === true) return true;
  return !write.image && (write.tag === null || isCosignTag(write.tag));
}

/** The findings left once approved waivers took theirs, and what they took. */
function unwaived(facts: ImageFacts, findings: readonly Finding[]): { left: Finding[]; waived: { id: string; waiver: number }[] } {
  const byId = new Map<string, number>();
  for (const w of facts.waivers) for (const id of w.ids) if (!byId.has(id)) byId.set(id, w.id);
  const left: Finding[] = [];
  const waived = new Map<string, number>();
  for (const f of findings) {
    const w = byId.get(f.id);
    if (w === undefined) left.push(f);
    else waived.set(f.id, w);
  }
  return { left, waived: [...waived].map(([id, waiver]) => ({ id, waiver })) };
}

/** Distinct ids of findings, strongest first, then by id. */
function distinctIds(findings: readonly Finding[]): string[] {
  const best = new Map<string, Severity>();
  for (const f of findings) {
    const s = best.get(f.id);
    if (s === undefined || RANK[f.severity] > RANK[s]) best.set(f.id, f.severity);
  }
  return [...best].sort((a, b) => RANK[b[1]] - RANK[a[1]] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([id]) => id);
}

function countBySeverity(findings: readonly Finding[]): string {
  const ids = new Map<Severity, Set<string>>();
  for (const f of findings) (ids.get(f.severity) ?? ids.set(f.severity, new Set()).get(f.severity)!).add(f.id);
  return SEVERITIES.filter((s) => ids.has(s))
    .map((s) => `${ids.get(s)!.size} ${s.toLowerCase()}`)
    .join(', ');
}

function named(ids: readonly string[]): string {
  return ids.length <= NAMED ? ids.join(', ') : `${ids.slice(0, NAMED).join(', ')} and ${ids.length - NAMED} more`;
}

function severityGate(facts: ImageFacts, bar: Threshold, fixableOnly: boolean): { gate: GateResult; waived: { id: string; waiver: number }[] } {
  const findings = facts.scan?.findings ?? [];
  const over = findings.filter((f) => RANK[f.severity] >= BAR[bar] && (!fixableOnly || f.class !== 'vulnerability' || f.fixable));
  const { left, waived } = unwaived(facts, over);
  const ids = distinctIds(left);
  const what = fixableOnly ? `fixable findings at or above ${bar}` : `findings at or above ${bar}`;
  return {
    gate:
      ids.length === 0
        ? { gate: 'severity', passed: true, reason: `no ${what}${waived.length > 0 ? ` (${waived.length} waived)` : ''}`, ids: [] }
        : { gate: 'severity', passed: false, reason: `${countBySeverity(left)} ${what}: ${named(ids)}`, ids },
    waived,
  };
}

/** Vulnerabilities CISA lists as exploited in the wild, waived ones aside: any refuses. */
function knownExploitedGate(facts: ImageFacts): { gate: GateResult; waived: { id: string; waiver: number }[] } {
  const { left, waived } = unwaived(facts, (facts.scan?.findings ?? []).filter((f) => f.class === 'vulnerability' && f.knownExploited === true));
  const ids = distinctIds(left);
  return {
    gate:
      ids.length === 0
        ? { gate: 'known-exploited', passed: true, reason: `no vulnerability known to be exploited in the wild${waived.length > 0 ? ` (${waived.length} waived)` : ''}`, ids: [] }
        : { gate: 'known-exploited', passed: false, reason: `vulnerabilities in CISA's Known Exploited Vulnerabilities catalogue: ${named(ids)}`, ids },
    waived,
  };
}

function signatureGate(facts: ImageFacts, req: SignatureRequirement): GateResult {
  const verified = req.keys.filter((k) => facts.verifiedKeys.has(k));
  const keyName = (k: string) => (k.startsWith('-----BEGIN') ? 'a PEM key of the policy' : k);
  if (verified.length >= req.minSignatures) return { gate: 'signature', passed: true, reason: `signed by ${verified.map(keyName).join(', ')}`, ids: verified.map(keyName) };
  const missing = req.keys.filter((k) => !facts.verifiedKeys.has(k)).map(keyName);
  return {
    gate: 'signature',
    passed: false,
    reason: `needs ${req.minSignatures} signature${req.minSignatures === 1 ? '' : 's'} that verify with ${req.keys.map(keyName).join(' or ')}; ${verified.length === 0 ? 'none verifies' : `only ${verified.map(keyName).join(', ')} verif${verified.length === 1 ? 'ies' : 'y'}`}`,
    ids: missing,
  };
}

function decision(gates: GateResult[], waived: { id: string; waiver: number }[]): Decision {
  return { allowed: gates.every((g) => g.passed), gates, waived };
}

/**
 * May the image be pulled from a project with this policy? `preventVulnerable` judges its
 * findings of every class (waived ones aside) and an image without a scan; `requireSignature` its
 * signatures. An image the policy says nothing about is allowed.
 */
export function evaluatePull(policy: ProjectPolicy, facts: ImageFacts): Decision {
  const gates: GateResult[] = [];
  let waived: { id: string; waiver: number }[] = [];
  const pv = policy.preventVulnerable;
  if (pv !== undefined) {
    if (facts.scan === undefined) {
      gates.push(pv.unscanned === 'deny' ? { gate: 'unscanned', passed: false, reason: 'the image has no scan result yet, and this project refuses unscanned images', ids: [] } : { gate: 'unscanned', passed: true, reason: 'not scanned yet; unscanned images are allowed', ids: [] });
    } else {
      const g = severityGate(facts, pv.severity, pv.fixableOnly);
      gates.push(g.gate);
      waived = g.waived;
      if (pv.denyKnownExploited === true) {
        const k = knownExploitedGate(facts);
        gates.push(k.gate);
        waived = [...waived, ...k.waived.filter((x) => !waived.some((y) => y.id === x.id))];
      }
    }
  }
  if (policy.requireSignature !== undefined) gates.push(signatureGate(facts, policy.requireSignature));
  return decision(gates, waived);
}

/**
 * May the image enter a project with these gates? Every gate is judged (not only up to the first
 * failure), so a refusal lists all that must change.
 */
export function evaluatePromotion(gates: PromotionGates, facts: ImageFacts, now: number): Decision {
  const out: GateResult[] = [];
  let waived: { id: string; waiver: number }[] = [];
  const scan = facts.scan;
  if (gates.requireScan !== undefined) {
    const built = scan?.dbBuiltAt === null || scan === undefined ? NaN : Date.parse(scan.dbBuiltAt);
    if (scan === undefined) out.push({ gate: 'scan-age', passed: false, reason: 'the image has no scan result', ids: [] });
    else if (!Number.isFinite(built)) out.push({ gate: 'scan-age', passed: false, reason: 'the image was scanned without an advisory DB: its vulnerabilities are unknown', ids: [] });
    else if (now - built > gates.requireScan.maxAgeMs) out.push({ gate: 'scan-age', passed: false, reason: `the advisory DB of its scan (built ${scan.dbBuiltAt}) is older than ${Math.round(gates.requireScan.maxAgeMs / 3_600_000)} h`, ids: [] });
    else out.push({ gate: 'scan-age', passed: true, reason: `scanned against the DB built ${scan.dbBuiltAt}`, ids: [] });
  }
  if (gates.maxSeverity !== undefined) {
    if (scan === undefined) out.push({ gate: 'severity', passed: false, reason: 'the image has no scan result: its findings are unknown', ids: [] });
    else {
      const g = severityGate(facts, gates.maxSeverity, false);
      out.push(g.gate);
      waived = g.waived;
    }
  }
  if (gates.denyMisconfigurations !== undefined && gates.denyMisconfigurations.length > 0) {
    const deny = new Set(gates.denyMisconfigurations);
    const hit = (scan?.findings ?? []).filter((f) => f.class === 'misconfiguration' && (deny.has('*') || deny.has(f.id)));
    const { left, waived: w } = unwaived(facts, hit);
    waived = [...waived, ...w.filter((x) => !waived.some((y) => y.id === x.id))];
    const ids = distinctIds(left);
    out.push(ids.length === 0 ? { gate: 'misconfigurations', passed: true, reason: 'no denied misconfiguration', ids: [] } : { gate: 'misconfigurations', passed: false, reason: `denied misconfigurations: ${named(ids)}`, ids });
  }
  if (gates.denySecrets === true) {
    const { left, waived: w } = unwaived(facts, (scan?.findings ?? []).filter((f) => f.class === 'secret'));
    waived = [...waived, ...w.filter((x) => !waived.some((y) => y.id === x.id))];
    const ids = distinctIds(left);
    out.push(ids.length === 0 ? { gate: 'secrets', passed: true, reason: 'no secret found', ids: [] } : { gate: 'secrets', passed: false, reason: `secrets in the image: ${named(ids)}`, ids });
  }
  if (gates.denyKnownExploited === true) {
    if (scan === undefined) out.push({ gate: 'known-exploited', passed: false, reason: 'the image has no scan result: whether it holds exploited vulnerabilities is unknown', ids: [] });
    else {
      const k = knownExploitedGate(facts);
      out.push(k.gate);
      waived = [...waived, ...k.waived.filter((x) => !waived.some((y) => y.id === x.id))];
    }
  }
  if (gates.requireSignature !== undefined) out.push(signatureGate(facts, gates.requireSignature));
  if (gates.requireSbom === true) out.push(facts.hasSbom ? { gate: 'sbom', passed: true, reason: 'an SBOM is stored', ids: [] } : { gate: 'sbom', passed: false, reason: 'no SBOM of the image is stored yet', ids: [] });
  return decision(out, waived);
}

/**
 * The findings of an image that no approved waiver covers, counted by severity (each id once, at
 * its strongest), and their ids strongest first: what admission judges a scan by. Several images
 * (the platforms of an index) are counted together, each under its own waivers.
 */
export function openFindings(...images: readonly ImageFacts[]): { counts: Record<Lowercase<Severity>, number>; ids: string[] } {
  const left = images.flatMap((facts) => unwaived(facts, facts.scan?.findings ?? []).left);
  const ids = distinctIds(left);
  const best = new Map<string, Severity>();
  for (const f of left) if (!best.has(f.id) || RANK[f.severity] > RANK[best.get(f.id)!]) best.set(f.id, f.severity);
  const counts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const s of best.values()) counts[s.toLowerCase() as Lowercase<Severity>] += 1;
  return { counts, ids };
}

/** Whether the project's policy has anything to judge on a pull. */
export function gatesPulls(policy: ProjectPolicy): boolean {
  return policy.preventVulnerable !== undefined || policy.requireSignature !== undefined;
}
