/**
 * Hex (Elixir and Erlang packages) version comparison, as Elixir's `Version` module orders them
 * (`Version.parse/1`, `Version.compare/2`), which Hex and mix use: SemVer 2.0.0, strictly —
 * exactly three numeric parts without leading zeros, no `v` prefix, no whitespace, numeric
 * pre-release identifiers without leading zeros — with SemVer §11 precedence; build metadata
 * is ignored (`1.0.0+a` and `1.0.0+b` compare equal). That is the grammar cargo.ts parses, and
 * this module shares it. Invalid versions sort before valid ones (see npm.ts); never throws.
 */
import { compareParsedOrInvalid, compareSemVer, parseSemVerStrict } from './npm.js';

/** Whether Elixir's `Version.parse/1` accepts the string. */
export function isValidHex(v: string): boolean {
  return parseSemVerStrict(v) !== undefined;
}

export function compareHex(a: string, b: string): number {
  return compareParsedOrInvalid(a, b, parseSemVerStrict, compareSemVer);
}
