/**
 * The scan report model: what `portcullis scan` and the registry's scan jobs produce, and what the
 * table, JSON (Trivy's shape), SARIF and CycloneDX writers read. Pure data, JSON-serializable.
 */
import type { CvssScore, EpssScore, KnownExploited, Severity, VulnStatus } from '../vuln/index.js';

export type { Severity, VulnStatus };

/** A layer, as Trivy names it in its reports. */
export interface LayerRef {
  readonly digest?: string;
  readonly diffId?: string;
}

export interface VulnerabilityFinding {
  /** The canonical id (a CVE where the flaw has one). */
  readonly id: string;
  /** The other ids of the same flaw. */
  readonly aliases: readonly string[];
  readonly pkg: {
    /** The inventory's package id (bom-ref). */
    readonly id: string;
    readonly name: string;
    readonly version: string;
    readonly purl: string;
    /** For OS packages: the source package matched against the feed. */
    readonly sourceName?: string;
    readonly sourceVersion?: string;
  };
  readonly installedVersion: string;
  /** Versions that fix it, comma-separated when several branches fix it (as Trivy prints them). */
  readonly fixedVersion?: string;
  readonly status: VulnStatus;
  readonly severity: Severity;
  /** Whose rating `severity` is: debian, alpine, ghsa, nvd, ... */
  readonly severitySource: string;
  /** Every source's rating. */
  readonly vendorSeverity: Readonly<Record<string, Severity>>;
  readonly cvss: readonly CvssScore[];
  /** CWE ids (CWE-754), from the NVD or a CVE record. */
  readonly cweIds?: readonly string[];
  /** In CISA's KEV catalogue: exploited in the wild (since, and the remediation due date). */
  readonly knownExploited?: KnownExploited;
  /** FIRST's EPSS score and percentile. */
  readonly epss?: EpssScore;
  readonly title?: string;
  readonly description?: string;
  readonly primaryUrl?: string;
  readonly references: readonly string[];
  readonly published?: string;
  readonly modified?: string;
  readonly layer?: LayerRef;
  /** The feed the match came from. */
  readonly dataSource: { readonly id: string; readonly name: string; readonly url?: string };
}

export interface SecretFinding {
  /** Rule id, Trivy's where one exists: aws-access-key-id, github-pat, private-key, ... */
  readonly ruleId: string;
  readonly category: string;
  readonly title: string;
  readonly severity: Severity;
  /** Path inside the image or directory, no leading slash. */
  readonly path: string;
  readonly startLine: number;
  readonly endLine: number;
  /** The line that matched, with the secret replaced by `*`. Never the secret itself. */
  readonly match: string;
  readonly layer?: LayerRef;
  /** True when a later layer deleted the file: it is gone from the running container but still ships in the image. */
  readonly deleted?: boolean;
}

export interface ConfigFinding {
  /** Stable id: Trivy's Dockerfile ids where they mean the same (DS001 :latest, DS002 root, DS026 no HEALTHCHECK), PCL-* for ours. */
  readonly id: string;
  readonly title: string;
  readonly description: string;
  /** What this image does wrong, specifically (`entrypoint /app/processr does not exist in the image`). */
  readonly message: string;
  readonly resolution: string;
  readonly severity: Severity;
  readonly primaryUrl?: string;
  /** For a Dockerfile: the lines. */
  readonly lines?: { readonly start: number; readonly end: number };
}

export type ResultClass = 'os-pkgs' | 'lang-pkgs' | 'secret' | 'config';

/** One target of a report: the OS packages, one lockfile or language directory, one file's secrets, the image config. */
export interface ScanResult {
  /** What was scanned: `registry/repo:tag (debian 12.5)`, `app/package-lock.json`, `Dockerfile`, `image config`. */
  readonly target: string;
  readonly class: ResultClass;
  /** debian, alpine, npm, pypi, gomod, jar, ..., dockerfile, image-config, secret. */
  readonly type: string;
  readonly vulnerabilities?: readonly VulnerabilityFinding[];
  readonly secrets?: readonly SecretFinding[];
  readonly misconfigurations?: readonly ConfigFinding[];
  /** Findings taken out of the lists above by a decision (a registry waiver), kept to be shown as such. */
  readonly modifiedFindings?: readonly ModifiedFinding[];
}

/** A finding someone decided about, as Trivy reports suppressed findings (`ModifiedFindings`). */
export type ModifiedFinding = {
  /** `ignored`: accepted for a time by a decision, not fixed. */
  readonly status: 'ignored';
  /** Why, in words. */
  readonly statement: string;
  /** Who decided: `portcullis waiver 12`. */
  readonly source: string;
} & ({ readonly type: 'vulnerability'; readonly finding: VulnerabilityFinding } | { readonly type: 'secret'; readonly finding: SecretFinding } | { readonly type: 'misconfiguration'; readonly finding: ConfigFinding });

export type ArtifactType = 'container_image' | 'filesystem' | 'cyclonedx' | 'spdx';

export interface ScanReport {
  readonly createdAt: string;
  readonly artifactName: string;
  readonly artifactType: ArtifactType;
  readonly metadata: {
    readonly os?: { readonly family: string; readonly name: string; readonly eosl?: boolean };
    readonly imageId?: string;
    readonly diffIds?: readonly string[];
    readonly repoTags?: readonly string[];
    readonly repoDigests?: readonly string[];
    /** The image config as the image states it (config.json), for the JSON report. */
    readonly imageConfig?: unknown;
    /** What the vulnerability scan could not check, and why: an unsupported OS, an ecosystem the DB holds no data for. */
    readonly warnings?: readonly string[];
  };
  readonly results: readonly ScanResult[];
  /** The advisory DB the vulnerabilities come from. */
  readonly db?: { readonly builtAt: string; readonly schemaVersion: number };
}
