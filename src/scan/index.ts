export type { ArtifactType, ConfigFinding, LayerRef, ModifiedFinding, ResultClass, ScanReport, ScanResult, SecretFinding, Severity, VulnerabilityFinding, VulnStatus } from './model.js';
export { buildReport, dataSourceOf, displayName, languageTarget, primaryUrl, toFinding, type ReportInput } from './report.js';
export { evaluate, evaluateCached, factsKey, gatherDirectoryFacts, gatherImageFacts, SCANNERS, type EvaluateOptions, type GatherOptions, type ScanFacts, type Scanner } from './scan.js';
export { formatReport, isReportFormat, REPORT_FORMATS, type ReportFormat, type ReportOptions } from './format/index.js';
export { toTrivyReport, type TrivyReport } from './format/index.js';
export { filterReport, type FilterOutcome, type ReportFilter, type Suppression } from './filter.js';
export { parseIgnoreFile, type IgnoreRules } from './ignore-file.js';
export { parseOpenVex, type VexStatements } from './vex.js';
export { applyDecisions, type FindingDecision } from './modified.js';
