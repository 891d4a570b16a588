/**
 * Version comparison per ecosystem: Debian (dpkg), RPM (rpmvercmp), Alpine (apk), npm, Cargo and
 * Hex (SemVer), Go modules, NuGet, PEP 440, Maven (ComparableVersion), RubyGems, Composer, Pub
 * (pub_semver), SwiftURL (SwiftPM) and ConanCenter (OSV's semver-like order).
 * Pure functions, no I/O. Every compare function returns -1, 0 or 1 and never throws; each
 * ecosystem also has an `isValid*` check for strings its package tools would reject.
 */
export { compareDpkg, compareDpkgParsed, isValidDpkgVersion, parseDpkgVersion } from './dpkg.js';
export type { DpkgVersion } from './dpkg.js';
export { compareRpm, compareRpmEvr, compareRpmEvrString, isValidRpmEvr, isValidRpmVersion, parseRpmEvr } from './rpm.js';
export type { RpmEvr } from './rpm.js';
export { compareApk, isValidApkVersion } from './apk.js';
export { compareNpm, isValidNpm } from './npm.js';
export { compareCargo, isValidCargo } from './cargo.js';
export { compareGo, isGoPseudoVersion, isValidGo } from './golang.js';
export { compareNuget, isValidNuget } from './nuget.js';
export { comparePep440, isValidPep440 } from './pep440.js';
export { compareMaven, isValidMaven } from './maven.js';
export { compareGem, isGemPrerelease, isValidGem } from './gem.js';
export { compareComposer, isValidComposer, normalizeComposer } from './composer.js';
export { compareHex, isValidHex } from './hex.js';
export { comparePub, isValidPub } from './pub.js';
export { compareSwift, isValidSwift } from './swift.js';
export { compareConan, isValidConan } from './conan.js';
