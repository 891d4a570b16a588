export type { ArtifactType, ConfigFinding, LayerRef, ModifiedFinding, ResultClass, ScanReport, ScanResult, SecretFinding, Severity, VulnerabilityFinding, VulnStatus } from './model.js';
export { buildReport, dataSourceOf, displayName, languageTarget, primaryUrl, toFinding, type ReportInput } from './report.js';
export { evaluate, evaluateCached, factsKey, gatherDirectoryFacts, gatherImageFacts, SCANNERS, type EvaluateOptions, type GatherOptions, type ScanFacts, type Scanner } from './scan.js';
export { formatReport, isReportFormat, REPORT_FORMATS, type ReportFormat, type ReportOptions } from './format/index.js';
export { toTrivyReport, type TrivyReport } from './format/index.js';
export { filterReport, parseIgnoreFile, parseOpenVex, type FilterOutcome, type IgnoreRules, type ReportFilter, type Suppression, type VexStatements } from './filter.js';
export { applyDecisions, type FindingDecision } from './modified.js';
