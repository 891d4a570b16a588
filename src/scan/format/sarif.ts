/**
 * SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer), mapped the way Trivy's
 * pkg/report/sarif.go maps its findings, so a repository that uploads Trivy's SARIF sees the same
 * rules, levels and security-severity scores from ours: one run; one rule per vulnerability id,
 * secret rule or check (the first finding names it); one result per finding, each with a
 * location (GitHub rejects results without one) whose region starts at line 1 or later.
 */
import type { Severity } from '../../vuln/index.js';
import type { ResultClass, ScanReport, ScanResult } from '../model.js';
import { compareStrings, misconfigTypeOf, sortedVulnerabilities } from './json.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
export const SARIF_VERSION = '2.1.0';
export const DEFAULT_INFORMATION_URI = 'https://portcullis.dev';

export interface SarifOptions {
  /** Portcullis's version, for tool.driver.version. */
  readonly version?: string;
  readonly informationUri?: string;
}

export type SarifLevel = 'error' | 'warning' | 'note' | 'none';

interface SarifMessage {
  readonly text: string;
  readonly markdown?: string;
}

export interface SarifRule {
  readonly id: string;
  readonly name: string;
  readonly shortDescription: SarifMessage;
  readonly fullDescription: SarifMessage;
  readonly defaultConfiguration: { readonly level: SarifLevel };
  readonly helpUri?: string;
  readonly help: { readonly text: string; readonly markdown: string };
  readonly properties: {
    readonly tags: readonly string[];
    readonly precision: 'very-high';
    readonly 'security-severity': string;
    readonly [key: string]: unknown;
  };
}

export interface SarifResult {
  readonly ruleId: string;
  readonly ruleIndex: number;
  readonly level: SarifLevel;
  readonly message: SarifMessage;
  readonly locations: readonly {
    readonly physicalLocation: {
      readonly artifactLocation: { readonly uri: string; readonly uriBaseId: 'ROOTPATH' };
      readonly region: { readonly startLine: number; readonly startColumn: number; readonly endLine: number; readonly endColumn: number };
    };
    readonly message: SarifMessage;
  }[];
  /**
   * A finding someone decided about (a registry waiver): reported, suppressed externally. No
   * `status`: absent, the suppression is in effect (the OASIS schema and the spec's text name that
   * property differently; readers such as GitHub and GitLab take a suppression without it as accepted).
   */
  readonly suppressions?: readonly { readonly kind: 'external'; readonly justification: string }[];
}

export interface SarifLog {
  readonly $schema: string;
  readonly version: typeof SARIF_VERSION;
  readonly runs: readonly [
    {
      readonly tool: { readonly driver: { readonly name: string; readonly fullName: string; readonly informationUri: string; readonly version?: string; readonly rules: readonly SarifRule[] } };
      readonly results: readonly SarifResult[];
      readonly columnKind: 'utf16CodeUnits';
      readonly properties?: Readonly<Record<string, unknown>>;
    },
  ];
}

/** Trivy's levels: CRITICAL and HIGH are errors, MEDIUM a warning, LOW and UNKNOWN notes. */
export function sarifLevel(severity: Severity): SarifLevel {
  switch (severity) {
    case 'CRITICAL':
    case 'HIGH':
      return 'error';
    case 'MEDIUM':
      return 'warning';
    case 'LOW':
    case 'UNKNOWN':
      return 'note';
  }
}

/** Trivy's security-severity when no CVSS v3 score of the rating source is known. */
export function severityScore(severity: Severity): string {
  switch (severity) {
    case 'CRITICAL':
      return '9.5';
    case 'HIGH':
      return '8.0';
    case 'MEDIUM':
      return '5.5';
    case 'LOW':
      return '2.0';
    case 'UNKNOWN':
      return '0.0';
  }
}

function ruleName(cls: ResultClass): string {
  switch (cls) {
    case 'os-pkgs':
      return 'OsPackageVulnerability';
    case 'lang-pkgs':
      return 'LanguageSpecificPackageVulnerability';
    case 'config':
      return 'Misconfiguration';
    case 'secret':
      return 'Secret';
  }
}

// A docker reference: [domain/]path[:tag][@digest]; the domain is the first component when it
// has a dot or a port or is localhost (Docker's rule).
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REFERENCE = new RegExp(`^(?:([a-zA-Z0-9.-]+(?::[0-9]+)?)/)?(${COMPONENT}(?:/${COMPONENT})*)(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`);

/**
 * Where an image's findings point in SARIF, as Trivy's ToPathUri does: the ` (debian 12.5)` suffix
 * dropped, and an image reference reduced to its repository path (`registry.example.com/team/app:1.2`
 * → `team/app`; `alpine:3.19` → `library/alpine`). Anything else (an archive path) stays as it is.
 */
export function imagePathUri(target: string): string {
  const bare = /^(.+?)(?:\s*\(.*?\).*?)?$/.exec(target)?.[1] ?? target;
  const m = REFERENCE.exec(bare);
  if (m === null) return bare;
  const first = m[1];
  const isDomain = first !== undefined && (first.includes('.') || first.includes(':') || first === 'localhost');
  const path = first !== undefined && !isDomain ? `${first}/${m[2]!}` : m[2]!;
  const dockerHub = !isDomain || first === 'docker.io' || first === 'index.docker.io';
  return dockerHub && !path.includes('/') ? `library/${path}` : path;
}

/** A path or name as a URI reference: backslashes become slashes, spaces and the like are escaped. */
export function toUriReference(path: string): string {
  return encodeURI(path.replace(/\\/g, '/'));
}

function uriOf(report: ScanReport, r: ScanResult): string {
  if (r.class === 'os-pkgs') return toUriReference(imagePathUri(r.target));
  // Image-config checks are about the image itself, not a file in it.
  if (r.class === 'config' && r.type !== 'dockerfile' && report.artifactType === 'container_image') return toUriReference(imagePathUri(report.artifactName));
  return toUriReference(r.target);
}

/** A URL that SARIF's `format: uri` accepts, else nothing. */
function absoluteUri(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).href;
  } catch {
    return undefined;
  }
}

interface Finding {
  readonly ruleId: string;
  readonly name: string;
  readonly tag: 'vulnerability' | 'misconfiguration' | 'secret';
  readonly severity: Severity;
  readonly score: string;
  readonly extraProperties: Readonly<Record<string, unknown>>;
  readonly title: string;
  readonly fullDescription: string;
  readonly helpUri: string | undefined;
  readonly helpText: string;
  readonly helpMarkdown: string;
  readonly message: string;
  readonly uri: string;
  readonly locationMessage: string;
  readonly startLine: number;
  readonly endLine: number;
}

function findingsOf(report: ScanReport, r: ScanResult): Finding[] {
  const uri = uriOf(report, r);
  const out: Finding[] = [];
  for (const v of sortedVulnerabilities(r)) {
    // Trivy's score: the CVSS v3 base score of the source the severity comes from, if it has one.
    const own = v.cvss.filter((c) => c.source === v.severitySource);
    const v3 = own.find((c) => c.version === '3.1') ?? own.find((c) => c.version === '3.0');
    const extra: Record<string, unknown> = {};
    for (const c of own) {
      if (c.version === '2.0') Object.assign(extra, { cvssv2_vector: c.vector, cvssv2_score: c.score });
      else if (c === v3) Object.assign(extra, { cvssv3_vector: c.vector, cvssv3_baseScore: c.score });
      else if (c.version === '4.0') Object.assign(extra, { cvssv40_vector: c.vector, cvssv40_baseScore: c.score });
    }
    const link = v.primaryUrl ?? '';
    const fixed = v.fixedVersion ?? '';
    const description = v.description ?? '';
    out.push({
      ruleId: v.id,
      name: ruleName(r.class),
      tag: 'vulnerability',
      severity: v.severity,
      score: v3 !== undefined && v3.score > 0 ? v3.score.toFixed(1) : severityScore(v.severity),
      extraProperties: extra,
      title: v.title ?? '',
      fullDescription: description !== '' ? description : (v.title ?? ''),
      helpUri: absoluteUri(v.primaryUrl),
      helpText: `Vulnerability ${v.id}\nSeverity: ${v.severity}\nPackage: ${v.pkg.name}\nFixed Version: ${fixed}\nLink: [${v.id}](${link})\n${description}`,
      helpMarkdown: `**Vulnerability ${v.id}**\n| Severity | Package | Fixed Version | Link |\n| --- | --- | --- | --- |\n|${v.severity}|${v.pkg.name}|${fixed}|[${v.id}](${link})|\n\n${description}`,
      message: `Package: ${v.pkg.name}\nInstalled Version: ${v.installedVersion}\nVulnerability ${v.id}\nSeverity: ${v.severity}\nFixed Version: ${fixed}\nLink: [${v.id}](${link})`,
      uri,
      locationMessage: `${decodeURI(uri)}: ${v.pkg.name}@${v.installedVersion}`,
      startLine: 1,
      endLine: 1,
    });
  }
  for (const m of r.misconfigurations ?? []) {
    const type = misconfigTypeOf(m.id, r.type);
    const link = m.primaryUrl ?? '';
    out.push({
      ruleId: m.id,
      name: ruleName(r.class),
      tag: 'misconfiguration',
      severity: m.severity,
      score: severityScore(m.severity),
      extraProperties: {},
      title: m.title,
      fullDescription: m.description !== '' ? m.description : m.title,
      helpUri: absoluteUri(m.primaryUrl),
      helpText: `Misconfiguration ${m.id}\nType: ${type}\nSeverity: ${m.severity}\nCheck: ${m.title}\nMessage: ${m.message}\nLink: [${m.id}](${link})\n${m.description}`,
      helpMarkdown: `**Misconfiguration ${m.id}**\n| Type | Severity | Check | Message | Link |\n| --- | --- | --- | --- | --- |\n|${type}|${m.severity}|${m.title}|${m.message}|[${m.id}](${link})|\n\n${m.description}`,
      message: `Artifact: ${r.target}\nType: ${r.type}\nVulnerability ${m.id}\nSeverity: ${m.severity}\nMessage: ${m.message}\nLink: [${m.id}](${link})`,
      uri,
      locationMessage: decodeURI(uri),
      startLine: Math.max(1, m.lines?.start ?? 1),
      endLine: Math.max(1, m.lines?.end ?? m.lines?.start ?? 1),
    });
  }
  for (const s of r.secrets ?? []) {
    const secretUri = toUriReference(s.path !== '' ? s.path : r.target);
    out.push({
      ruleId: s.ruleId,
      name: ruleName(r.class),
      tag: 'secret',
      severity: s.severity,
      score: severityScore(s.severity),
      extraProperties: {},
      title: s.title,
      fullDescription: s.match !== '' ? s.match : s.title,
      helpUri: undefined,
      helpText: `Secret ${s.title}\nSeverity: ${s.severity}\nMatch: ${s.match}`,
      helpMarkdown: `**Secret ${s.title}**\n| Severity | Match |\n| --- | --- |\n|${s.severity}|${s.match}|`,
      message: `Artifact: ${r.target}\nType: ${r.type}\nSecret ${s.title}\nSeverity: ${s.severity}\nMatch: ${s.match}`,
      uri: secretUri,
      locationMessage: decodeURI(secretUri),
      startLine: Math.max(1, s.startLine),
      endLine: Math.max(1, s.endLine, s.startLine),
    });
  }
  return out;
}

export function toSarif(report: ScanReport, options: SarifOptions = {}): SarifLog {
  const rules: SarifRule[] = [];
  const ruleIndex = new Map<string, number>();
  const results: SarifResult[] = [];
  // A decided finding is reported as what it is, with the decision as an external suppression.
  const decided = (r: ScanResult): { f: Finding; justification: string }[] =>
    (r.modifiedFindings ?? []).flatMap((m) => {
      const one: ScanResult = { target: r.target, class: r.class, type: r.type, ...(m.type === 'vulnerability' ? { vulnerabilities: [m.finding] } : m.type === 'secret' ? { secrets: [m.finding] } : { misconfigurations: [m.finding] }) };
      return findingsOf(report, one).map((f) => ({ f, justification: `${m.source}: ${m.statement}` }));
    });
  for (const r of report.results) {
    for (const { f, justification } of [...findingsOf(report, r).map((f) => ({ f, justification: undefined as string | undefined })), ...decided(r)]) {
      let index = ruleIndex.get(f.ruleId);
      if (index === undefined) {
        index = rules.length;
        ruleIndex.set(f.ruleId, index);
        const properties: Record<string, unknown> = {};
        for (const key of Object.keys(f.extraProperties).sort(compareStrings)) properties[key] = f.extraProperties[key];
        rules.push({
          id: f.ruleId,
          name: f.name,
          // SARIF requires text in every message; a finding without a title falls back to its id.
          shortDescription: { text: f.title !== '' ? f.title : f.ruleId },
          fullDescription: { text: f.fullDescription !== '' ? f.fullDescription : f.ruleId },
          defaultConfiguration: { level: sarifLevel(f.severity) },
          ...(f.helpUri !== undefined ? { helpUri: f.helpUri } : {}),
          help: { text: f.helpText, markdown: f.helpMarkdown },
          properties: { tags: [f.tag, 'security', f.severity], precision: 'very-high', 'security-severity': f.score, ...properties },
        });
      }
      results.push({
        ruleId: f.ruleId,
        ruleIndex: index,
        level: sarifLevel(f.severity),
        message: { text: f.message },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: f.uri, uriBaseId: 'ROOTPATH' },
              region: { startLine: f.startLine, startColumn: 1, endLine: Math.max(f.startLine, f.endLine), endColumn: 1 },
            },
            message: { text: f.locationMessage },
          },
        ],
        ...(justification !== undefined ? { suppressions: [{ kind: 'external' as const, justification }] } : {}),
      });
    }
  }
  const { metadata: md } = report;
  return {
    $schema: SARIF_SCHEMA,
    version: SARIF_VERSION,
    runs: [
      {
        tool: {
          driver: {
            name: 'Portcullis',
            fullName: 'Portcullis container security scanner',
            informationUri: options.informationUri ?? DEFAULT_INFORMATION_URI,
            ...(options.version !== undefined ? { version: options.version } : {}),
            rules,
          },
        },
        results,
        columnKind: 'utf16CodeUnits',
        ...(report.artifactType === 'container_image'
          ? { properties: { imageName: report.artifactName, repoTags: md.repoTags ?? [], repoDigests: md.repoDigests ?? [], ...(md.imageId !== undefined ? { imageID: md.imageId } : {}) } }
          : {}),
      },
    ],
  };
}

export function formatSarif(report: ScanReport, options: SarifOptions = {}): string {
  return `${JSON.stringify(toSarif(report, options), null, 2)}\n`;
}
