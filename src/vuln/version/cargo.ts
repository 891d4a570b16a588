/**
 * Cargo (crates.io) version comparison: SemVer 2.0.0 as the Rust `semver` crate parses it
 * (`semver::Version::parse`: no `v` prefix, no whitespace, no leading zeros in numeric parts
 * or numeric pre-release identifiers) with SemVer §11 precedence.
 *
 * One deliberate difference: `semver::Version`'s `Ord` also orders build metadata as a last
 * tie-breaker, while Cargo's requirement matching (and RustSec advisory ranges) ignore it; we
 * follow precedence, so `1.0.0+a` and `1.0.0+b` compare equal. Invalid versions sort before valid
 * ones (see npm.ts); {@link compareCargo} never throws.
 */
import { compareParsedOrInvalid, compareSemVer, parseSemVerStrict, type SemVer } from './npm.js';

export function parseCargoVersion(v: string): SemVer | undefined {
  return parseSemVerStrict(v);
}

export function isValidCargo(v: string): boolean {
  return parseSemVerStrict(v) !== undefined;
}

export function compareCargo(a: string, b: string): number {
  return compareParsedOrInvalid(a, b, parseSemVerStrict, compareSemVer);
}
