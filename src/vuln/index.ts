export {
  compareApk,
  compareCargo,
  compareComposer,
  compareConan,
  compareDpkg,
  compareGem,
  compareGo,
  compareHex,
  compareMaven,
  compareNpm,
  compareNuget,
  comparePep440,
  comparePub,
  compareRpm,
  compareRpmEvr,
  compareRpmEvrString,
  compareSwift,
  isValidApkVersion,
  isValidCargo,
  isValidComposer,
  isValidConan,
  isValidDpkgVersion,
  isValidGem,
  isValidGo,
  isValidHex,
  isValidMaven,
  isValidNpm,
  isValidNuget,
  isValidPep440,
  isValidPub,
  isValidRpmEvr,
  isValidRpmVersion,
  isValidSwift,
  parseDpkgVersion,
  parseRpmEvr,
  type DpkgVersion,
  type RpmEvr,
} from './version/index.js';
export {
  SEVERITIES,
  VULN_STATUSES,
  type AffectedRange,
  type AffectedRecord,
  type CvssScore,
  type EpssScore,
  type KnownExploited,
  type Ecosystem,
  type FeedRecords,
  type MergedVulnerability,
  type RangeEvent,
  type Severity,
  type VulnerabilityRecord,
  type VulnStatus,
} from './model.js';
export { VulnError, type VulnErrorCode } from './errors.js';
export { cvssScore, severityOfScore, severityOfWord, severityRank } from './severity.js';
export { comparatorOf, distroEcosystem, lookupKey, type Compare } from './ecosystems.js';
export { chooseSeverity, inRange, recordAffects } from './rules.js';
export { coverageWarnings, type EcosystemCoverage } from './coverage.js';
export { matchKeys, MATCH_KEYS_VERSION, packageMatchKey, splitMatchKey, type MatchKeys } from './match-keys.js';
export { matchInventory, Matcher, type AdvisoryLookup, type KeyMatch, type VulnerabilityCounts, type VulnerabilityMatch } from './match.js';
export { AdvisoryDb, buildAdvisoryDb, DB_SCHEMA_VERSION, type BuildOptions, type DbInfo, type DbSourceInfo, type FeedInput } from './db.js';
export { classifyFeedDocument, detectFeedFormat, readFeeds, type FeedFile, type FeedFormat, type ReadFeedsOptions } from './feed-files.js';
export { counted, feedStatePath, refreshFeed, updateAdvisoryDb, type FeedOutcome, type FeedsFile, type FeedState, type UpdateOptions, type UpdateProgress, type UpdateResult } from './feed-update.js';
export { defaultFeeds, parseFeedsFile } from './default-feeds.js';
export { installAdvisoryDb, packAdvisoryDb, type InstallOptions, type PackedDb } from './db-archive.js';
