/**
 * The report writers of `portcullis scan`: a table for people, Trivy's JSON for the tools that read
 * it, SARIF for code scanning, CycloneDX with vulnerabilities. Pure: a report in, a string out.
 */
import type { Inventory } from '../../sbom/index.js';
import type { ScanReport } from '../model.js';
import { formatCycloneDx } from './cyclonedx.js';
import { formatJson, type VulnerabilityOrder } from './json.js';
import { formatSarif } from './sarif.js';
import { formatTable } from './table.js';

export const REPORT_FORMATS = ['table', 'json', 'sarif', 'cyclonedx'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function isReportFormat(value: string): value is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(value);
}

export interface ReportOptions {
  /** table: ANSI colours for severities (the caller decides: a TTY, no NO_COLOR). */
  readonly color?: boolean;
  /** table: terminal width; long cells wrap to fit. */
  readonly width?: number;
  /** sarif, cyclonedx: Portcullis's version. */
  readonly toolVersion?: string;
  /** sarif: tool.driver.informationUri. */
  readonly informationUri?: string;
  /** cyclonedx: the inventory the report was scanned from (required for that format). */
  readonly inventory?: Inventory;
  /** cyclonedx: fixed time and serial number for reproducible output. */
  readonly timestamp?: Date;
  readonly serialNumber?: string;
  /** table, json: vulnerabilities in Trivy's order (the default) or by risk (`--sort risk`). */
  readonly order?: VulnerabilityOrder;
}

export function formatReport(report: ScanReport, format: ReportFormat, options: ReportOptions = {}): string {
  switch (format) {
    case 'table':
      return formatTable(report, { ...(options.color !== undefined ? { color: options.color } : {}), ...(options.width !== undefined ? { width: options.width } : {}), ...(options.order !== undefined ? { order: options.order } : {}) });
    case 'json':
      return formatJson(report, options.order);
    case 'sarif':
      return formatSarif(report, { ...(options.toolVersion !== undefined ? { version: options.toolVersion } : {}), ...(options.informationUri !== undefined ? { informationUri: options.informationUri } : {}) });
    case 'cyclonedx':
      if (options.inventory === undefined) throw new TypeError("formatReport: the 'cyclonedx' format needs the scanned inventory (options.inventory)");
      return formatCycloneDx(report, {
        inventory: options.inventory,
        toolVersion: options.toolVersion ?? '0.0.0',
        ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
        ...(options.serialNumber !== undefined ? { serialNumber: options.serialNumber } : {}),
      });
  }
}

export { formatCycloneDx, type CycloneDxReportOptions } from './cyclonedx.js';
export { compareVulnerabilities, formatJson, severityNumber, toTrivyReport, TRIVY_SCHEMA_VERSION, type TrivyReport, type TrivyResult, type TrivySecret, type TrivyMisconfiguration, type TrivyVulnerability } from './json.js';
export { formatSarif, imagePathUri, sarifLevel, severityScore, toSarif, type SarifLog, type SarifOptions } from './sarif.js';
export { formatTable, totalLine, type TableOptions } from './table.js';
