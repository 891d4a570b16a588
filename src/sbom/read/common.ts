/**
 * What the SBOM readers share: the document read, its errors, the JSON helpers and the purl
 * parser (packageurl-js, loaded on first use as in assemble.ts).
 */
import { createRequire } from 'node:module';
import type { PackageURL as PackageURLT } from 'packageurl-js';
import { AppError } from '../../shared/index.js';
import type { Inventory } from '../model.js';

export type SbomDocumentFormat = 'cyclonedx-json' | 'spdx-json';

export interface SbomDocument {
  readonly format: SbomDocumentFormat;
  /** CycloneDX `specVersion` (`1.6`) or the SPDX version without its prefix (`2.3`). */
  readonly specVersion: string;
  readonly inventory: Inventory;
}

export type SbomErrorCode =
  /** Not a document at all: not JSON, or CycloneDX/SPDX JSON missing what the format requires. */
  | 'SBOM_INVALID'
  /** A document in a format or version Portcullis does not read (CycloneDX XML, SPDX tag-value, ...). */
  | 'SBOM_UNSUPPORTED';

export class SbomError extends AppError<SbomErrorCode> {
  constructor(code: SbomErrorCode, message: string, options: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'SbomError';
  }
}

export const SUPPORTED = 'Portcullis reads CycloneDX JSON (1.x) and SPDX 2.2/2.3 JSON';

const requireLazy = createRequire(import.meta.url);
let PurlCtor: typeof PackageURLT | undefined;
export function purlClass(): typeof PackageURLT {
  return (PurlCtor ??= (requireLazy('packageurl-js') as { PackageURL: typeof PackageURLT }).PackageURL);
}

export type Json = Readonly<Record<string, unknown>>;
export type Props = ReadonlyMap<string, readonly string[]>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
export function objects(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}
export function first(props: Props, key: string): string | undefined {
  return props.get(key)?.[0];
}
export function addProp(props: Map<string, string[]>, key: string, value: string): void {
  const list = props.get(key);
  if (list === undefined) props.set(key, [value]);
  else list.push(value);
}
