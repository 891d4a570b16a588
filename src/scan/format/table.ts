/**
 * The table report for people, laid out like Trivy's: per target a `Target (type)` heading, a
 * `Total:` line counting each severity, then a box table. Colour (severities only) is the caller's
 * decision (a TTY, no NO_COLOR): without it the output holds no escape codes at all.
 */
import { SEVERITIES, type Severity } from '../../vuln/index.js';
import type { ConfigFinding, ScanReport, ScanResult, SecretFinding, VulnerabilityFinding } from '../model.js';
import { sortedVulnerabilities, type VulnerabilityOrder } from './json.js';

export interface TableOptions {
  /** ANSI colours for severities. Off unless the caller says so. */
  readonly color?: boolean;
  /** Terminal columns: long cells (titles, messages, matches) wrap to keep each table inside. */
  readonly width?: number;
  /** Vulnerabilities in Trivy's order (the default) or by risk. */
  readonly order?: VulnerabilityOrder;
}

const ANSI = /\u001b\[[0-9;]*m/g;
const RESET = '\u001b[0m';
// Trivy's colours: UNKNOWN cyan, LOW blue, MEDIUM yellow, HIGH bright red, CRITICAL red.
const SEVERITY_COLOR: Readonly<Record<Severity, string>> = { UNKNOWN: '\u001b[36m', LOW: '\u001b[34m', MEDIUM: '\u001b[33m', HIGH: '\u001b[91m', CRITICAL: '\u001b[31m' };
const MIN_WRAP_WIDTH = 10;
const TITLE_WORDS = 12;

type Kind = 'vulnerabilities' | 'secrets' | 'misconfigurations';

interface Column {
  readonly header: string;
  /** Cells of this column may wrap when the table is too wide. */
  readonly wrap?: boolean;
}

/** Display width: code points, escape codes excluded. */
function visibleWidth(s: string): number {
  return [...s.replace(ANSI, '')].length;
}

function padEnd(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - visibleWidth(s)));
}

/** Word wrap to `width` columns; words longer than a line are cut. */
export function wrapText(text: string, width: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter((w) => w !== '')) {
      let rest = word;
      while ([...rest].length > width) {
        if (line !== '') {
          out.push(line);
          line = '';
        }
        const chars = [...rest];
        out.push(chars.slice(0, width).join(''));
        rest = chars.slice(width).join('');
      }
      if (rest === '') continue;
      if (line === '') line = rest;
      else if ([...line].length + 1 + [...rest].length <= width) line += ` ${rest}`;
      else {
        out.push(line);
        line = rest;
      }
    }
    out.push(line);
  }
  return out;
}

/** A box table (the borders Trivy draws), cells may hold several lines. */
export function renderBox(columns: readonly Column[], rows: readonly (readonly string[])[], maxWidth?: number): string {
  const cellLines = (cell: string): string[] => cell.split('\n');
  const natural = columns.map((c, i) => Math.max(visibleWidth(c.header), ...rows.flatMap((r) => cellLines(r[i] ?? '').map(visibleWidth))));
  const widths = [...natural];
  const total = (): number => widths.reduce((a, b) => a + b, 0) + 3 * widths.length + 1;
  if (maxWidth !== undefined) {
    // Narrow the widest wrappable column, a column at a time, until the table fits or nothing can give.
    while (total() > maxWidth) {
      let widest = -1;
      columns.forEach((c, i) => {
        if (c.wrap === true && widths[i]! > Math.max(MIN_WRAP_WIDTH, visibleWidth(c.header)) && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
      });
      if (widest < 0) break;
      widths[widest] = widths[widest]! - 1;
    }
  }
  const wrapped = rows.map((r) => columns.map((c, i) => (c.wrap === true && widths[i]! < natural[i]! ? wrapText((r[i] ?? '').replace(ANSI, ''), widths[i]!) : cellLines(r[i] ?? ''))));
  const rule = (l: string, m: string, r: string): string => `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}`;
  const line = (cells: readonly string[]): string => `│${cells.map((c, i) => ` ${padEnd(c, widths[i]!)} `).join('│')}│`;
  const out = [rule('┌', '┬', '┐'), line(columns.map((c) => c.header)), rule('├', '┼', '┤')];
  wrapped.forEach((cells, ri) => {
    const height = Math.max(...cells.map((c) => c.length));
    for (let k = 0; k < height; k++) out.push(line(cells.map((c) => c[k] ?? '')));
    if (ri < wrapped.length - 1) out.push(rule('├', '┼', '┤'));
  });
  out.push(rule('└', '┴', '┘'));
  return out.join('\n');
}

export function severityCounts(severities: readonly Severity[]): Record<Severity, number> {
  const counts = { UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0 };
  for (const s of severities) counts[s]++;
  return counts;
}

/** `Total: N (UNKNOWN: a, LOW: b, MEDIUM: c, HIGH: d, CRITICAL: e)`, Trivy's line. */
export function totalLine(severities: readonly Severity[]): string {
  const counts = severityCounts(severities);
  return `Total: ${severities.length} (${SEVERITIES.map((s) => `${s}: ${counts[s]}`).join(', ')})`;
}

function kindsOf(r: ScanResult): Kind[] {
  const kinds = new Set<Kind>();
  if (r.class === 'os-pkgs' || r.class === 'lang-pkgs' || (r.vulnerabilities?.length ?? 0) > 0) kinds.add('vulnerabilities');
  if (r.class === 'secret' || (r.secrets?.length ?? 0) > 0) kinds.add('secrets');
  if (r.class === 'config' || (r.misconfigurations?.length ?? 0) > 0) kinds.add('misconfigurations');
  return [...kinds];
}

/** Trivy's headings: an OS target already names its distribution; others add their type. */
function heading(r: ScanResult, kind: Kind): string {
  if (kind === 'secrets') return `${r.target} (secrets)`;
  return kind === 'vulnerabilities' && r.class === 'os-pkgs' ? r.target : `${r.target} (${r.type})`;
}

function countOf(r: ScanResult, kind: Kind): number {
  return kind === 'vulnerabilities' ? (r.vulnerabilities?.length ?? 0) : kind === 'secrets' ? (r.secrets?.length ?? 0) : (r.misconfigurations?.length ?? 0);
}

function shortTitle(v: VulnerabilityFinding): string {
  const text = v.title ?? v.description ?? '';
  const words = text.split(' ');
  return words.length >= TITLE_WORDS ? `${words.slice(0, TITLE_WORDS).join(' ')}...` : text;
}

function shortDigest(d: string | undefined): string {
  if (d === undefined) return '';
  const [alg, hex] = d.includes(':') ? d.split(':', 2) : ['', d];
  return `${alg === '' ? '' : `${alg}:`}${hex!.slice(0, 12)}`;
}

export function formatTable(report: ScanReport, options: TableOptions = {}): string {
  const paint = (s: Severity): string => (options.color === true ? `${SEVERITY_COLOR[s]}${s}${RESET}` : s);
  const sections = report.results.flatMap((r) => kindsOf(r).map((kind) => ({ r, kind })));
  const anything = sections.some(({ r, kind }) => countOf(r, kind) > 0);

  if (!anything) {
    if (sections.length === 0) return `${report.artifactName}: no targets to scan were found, nothing to report\n`;
    const waived = waivedBlock(report);
    return `${sections.map(({ r, kind }) => `${heading(r, kind)}: no ${kind === 'misconfigurations' ? 'misconfigurations' : kind} found`).join('\n')}\n${waived !== undefined ? `\n${waived}\n` : ''}`;
  }

  const blocks: string[] = [];
  for (const { r, kind } of sections) {
    const title = heading(r, kind);
    const lines = [title, '='.repeat(visibleWidth(title))];
    if (kind === 'vulnerabilities') {
      const vulns = sortedVulnerabilities(r, options.order);
      lines.push(totalLine(vulns.map((v) => v.severity)));
      if (vulns.length > 0) lines.push('', vulnerabilityTable(vulns, paint, options.width));
    } else if (kind === 'secrets') {
      const secrets = r.secrets ?? [];
      lines.push(totalLine(secrets.map((s) => s.severity)));
      if (secrets.length > 0) lines.push('', secretTable(secrets, paint, options.width));
    } else {
      const misconfigs = r.misconfigurations ?? [];
      lines.push(totalLine(misconfigs.map((m) => m.severity)));
      if (misconfigs.length > 0) lines.push('', misconfigTable(misconfigs, paint, options.width));
    }
    blocks.push(lines.join('\n'));
  }
  const waived = waivedBlock(report);
  if (waived !== undefined) blocks.push(waived);
  return `${blocks.join('\n\n')}\n`;
}

/** Findings a decision took out (registry waivers), one line each; undefined when there are none. */
function waivedBlock(report: ScanReport): string | undefined {
  const decided = report.results.flatMap((r) => r.modifiedFindings ?? []);
  if (decided.length === 0) return undefined;
  const idOf = (m: (typeof decided)[number]): string => (m.type === 'secret' ? m.finding.ruleId : m.finding.id);
  return ['Waived (not counted above)', '==========================', ...decided.map((m) => `${idOf(m)} (${m.finding.severity}, ${m.type}): ${m.source}: ${m.statement}`)].join('\n');
}

function vulnerabilityTable(vulns: readonly VulnerabilityFinding[], paint: (s: Severity) => string, width: number | undefined): string {
  const columns: Column[] = [{ header: 'Library' }, { header: 'Vulnerability' }, { header: 'Severity' }, { header: 'Status' }, { header: 'Installed Version' }, { header: 'Fixed Version', wrap: true }, { header: 'Title', wrap: true }];
  // A finding CISA lists as exploited in the wild is marked beside its id.
  const rows = vulns.map((v) => [v.pkg.name, v.knownExploited !== undefined ? `${v.id} (KEV)` : v.id, paint(v.severity), v.status, v.installedVersion, v.fixedVersion ?? '', v.primaryUrl === undefined ? shortTitle(v) : `${shortTitle(v)}\n${v.primaryUrl}`]);
  return renderBox(columns, rows, width);
}

function secretTable(secrets: readonly SecretFinding[], paint: (s: Severity) => string, width: number | undefined): string {
  const columns: Column[] = [{ header: 'Category' }, { header: 'Rule' }, { header: 'Severity' }, { header: 'Path:Line', wrap: true }, { header: 'Match', wrap: true }, { header: 'Layer' }];
  const rows = secrets.map((s) => [
    s.category,
    s.ruleId,
    paint(s.severity),
    `${s.path}:${s.startLine}`,
    s.match,
    `${shortDigest(s.layer?.digest ?? s.layer?.diffId)}${s.deleted === true ? '\n(deleted later)' : ''}`,
  ]);
  return renderBox(columns, rows, width);
}

function misconfigTable(misconfigs: readonly ConfigFinding[], paint: (s: Severity) => string, width: number | undefined): string {
  const columns: Column[] = [{ header: 'ID' }, { header: 'Severity' }, { header: 'Title', wrap: true }, { header: 'Message', wrap: true }];
  const rows = misconfigs.map((m) => [m.id, paint(m.severity), m.primaryUrl === undefined ? m.title : `${m.title}\n${m.primaryUrl}`, m.message]);
  return renderBox(columns, rows, width);
}
