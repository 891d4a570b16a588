/**
 * A project's policy, made precise: which tags may never move, which images may not be pulled,
 * which signatures an image must carry, and the gates an image passes to enter the project by
 * promotion. Pure data; `parsePolicy` builds it from a document, `evaluate…` judge facts by it.
 */

/** Severities as findings carry them, strongest first. */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A policy's bar: findings at or above it count. UNKNOWN is below every bar. */
export const THRESHOLDS = ['critical', 'high', 'medium', 'low'] as const;
export type Threshold = (typeof THRESHOLDS)[number];

/** A glob (doublestar: `app/**`, `v*`, `{a,b}`), as `matching` (the default) or `excluding`. */
export type Selector = { readonly matching: string } | { readonly excluding: string };

/** Tags that may not move or go once pushed: Harbor's immutability rule. */
export interface ImmutableTagRule {
  /** Repository names within the project (`app`, `team/**`). */
  readonly repositories: Selector;
  readonly tags: Selector;
}

/**
 * Signatures an image must carry: at least `minSignatures` of `keys` must each have made a
 * signature of it that verifies. A key is `project` (this project's signing key),
 * `project:NAME` (another project's), `trusted:NAME` (a key this project trusts), or a PEM.
 */
export interface SignatureRequirement {
  readonly keys: readonly string[];
  readonly minSignatures: number;
}

export interface PreventVulnerable {
  /** Findings of every class (vulnerabilities, secrets, misconfigurations) at or above this block a pull. */
  readonly severity: Threshold;
  /** An image with no scan result: pulled (`allow`) or refused (`deny`). */
  readonly unscanned: 'allow' | 'deny';
  /** Only vulnerabilities with a fixed version count (secrets and misconfigurations always do). */
  readonly fixableOnly: boolean;
  /** A vulnerability in CISA's Known Exploited Vulnerabilities catalogue blocks a pull, whatever its severity. */
  readonly denyKnownExploited?: boolean;
}

/** The gates an image passes to enter the project by promotion. */
export interface PromotionGates {
  /** A scan against an advisory DB no older than this (else the promotion scans first). */
  readonly requireScan?: { readonly maxAgeMs: number };
  /** Nothing at or above it, unless waived (every class of finding). */
  readonly maxSeverity?: Threshold;
  /** Misconfigurations that refuse the promotion (`*`: any). */
  readonly denyMisconfigurations?: readonly string[];
  /** Any secret refuses it. */
  readonly denySecrets?: boolean;
  /** A vulnerability in CISA's Known Exploited Vulnerabilities catalogue refuses it, whatever its severity. */
  readonly denyKnownExploited?: boolean;
  /** Signatures the image carries already (from the source side, e.g. CI's key). */
  readonly requireSignature?: SignatureRequirement;
  readonly requireSbom?: boolean;
  /** A project with gates takes new images only by promotion unless this is true. */
  readonly allowDirectPush?: boolean;
}

export interface ProjectPolicy {
  readonly immutableTags: readonly ImmutableTagRule[];
  readonly preventVulnerable?: PreventVulnerable;
  readonly requireSignature?: SignatureRequirement;
  readonly promotion?: PromotionGates;
}

export const EMPTY_POLICY: ProjectPolicy = { immutableTags: [] };

export type FindingClass = 'vulnerability' | 'secret' | 'misconfiguration';

/** A finding as the gates judge it: its id (a CVE, a secret rule, a check), severity, class, and for a vulnerability whether a fix exists. */
export interface Finding {
  readonly id: string;
  readonly severity: Severity;
  readonly class: FindingClass;
  readonly fixable: boolean;
  /** A vulnerability in CISA's Known Exploited Vulnerabilities catalogue. */
  readonly knownExploited?: boolean;
}

/** What the registry knows of an image when a gate judges it. */
export interface ImageFacts {
  /** Undefined: the image has no scan result (never scanned, or its scan is pending). */
  readonly scan?: {
    readonly scannedAt: number;
    /** The advisory DB build the vulnerabilities come from; null when none was evaluated. */
    readonly dbBuiltAt: string | null;
    readonly findings: readonly Finding[];
  };
  /** The keys (as the policy names them) that verified a signature of the image. */
  readonly verifiedKeys: ReadonlySet<string>;
  /** Whether Portcullis holds an SBOM of the image. */
  readonly hasSbom: boolean;
  /** Approved, unexpired waivers whose scope covers the image. */
  readonly waivers: readonly { readonly id: number; readonly ids: readonly string[] }[];
}

export type Gate = 'severity' | 'unscanned' | 'scan-age' | 'misconfigurations' | 'secrets' | 'signature' | 'sbom' | 'known-exploited';

/** One gate's verdict: what failed, in words and as the ids behind it. */
export interface GateResult {
  readonly gate: Gate;
  readonly passed: boolean;
  readonly reason: string;
  readonly ids: readonly string[];
}

/** A decision is a value: the gates judged, and the findings waivers let through (with the waiver). */
export interface Decision {
  readonly allowed: boolean;
  readonly gates: readonly GateResult[];
  readonly waived: readonly { readonly id: string; readonly waiver: number }[];
}
