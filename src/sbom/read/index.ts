/**
 * Reading an SBOM back into an inventory: CycloneDX JSON (1.x) and SPDX 2.2/2.3 JSON, as Portcullis,
 * Trivy and Syft write them. Used by `portcullis scan sbom:FILE` and by the registry, which
 * re-evaluates stored images from their stored SBOMs. Pure: it takes the document, never a file.
 *
 * A package's identity comes from its purl (type, namespace, name, qualifiers); its version from
 * the document's own field (the purl may drop a deb/rpm epoch or Go's `go` prefix). What the purl
 * cannot say (source package, file locations, layers) comes from the writer's properties:
 * Portcullis's `portcullis:*`, Trivy's `aquasecurity:trivy:*`, Syft's `syft:*`.
 */
import { isObject, SbomError, SUPPORTED, type SbomDocument } from './common.js';
import { readCycloneDx } from './cyclonedx.js';
import { readSpdx } from './spdx.js';

export { SbomError, type SbomDocument, type SbomDocumentFormat, type SbomErrorCode } from './common.js';

/** `input` is the document's text or the already-parsed JSON; `name` (a file name) labels errors and is the fallback subject. */
export function readSbom(input: string | object, name?: string): SbomDocument {
  const label = name ?? 'SBOM';
  const doc = typeof input === 'string' ? parseText(input, label) : input;
  if (!isObject(doc)) throw new SbomError('SBOM_UNSUPPORTED', `${label}: JSON but not an object; ${SUPPORTED}`);
  if (doc['bomFormat'] === 'CycloneDX') return readCycloneDx(doc, label, name);
  if (typeof doc['spdxVersion'] === 'string') return readSpdx(doc, label, name);
  if (JSON.stringify(doc['@context'] ?? '').includes('spdx.org/rdf/3')) throw new SbomError('SBOM_UNSUPPORTED', `${label}: SPDX 3 JSON-LD is not supported; ${SUPPORTED}`);
  throw new SbomError('SBOM_UNSUPPORTED', `${label}: JSON that is neither CycloneDX (no bomFormat "CycloneDX") nor SPDX (no spdxVersion); ${SUPPORTED}`);
}

function parseText(text: string, label: string): unknown {
  const body = text.replace(/^\uFEFF/, '').trimStart();
  if (body.startsWith('<')) {
    const kind = /cyclonedx/i.test(body.slice(0, 4096)) ? 'CycloneDX XML' : /spdx/i.test(body.slice(0, 4096)) ? 'SPDX RDF/XML' : 'XML';
    throw new SbomError('SBOM_UNSUPPORTED', `${label}: ${kind} is not supported; ${SUPPORTED}`);
  }
  if (/^SPDXVersion:\s*SPDX-/m.test(body.slice(0, 4096))) throw new SbomError('SBOM_UNSUPPORTED', `${label}: SPDX tag-value is not supported; ${SUPPORTED}`);
  if (/^spdxVersion:\s*/m.test(body.slice(0, 4096))) throw new SbomError('SBOM_UNSUPPORTED', `${label}: SPDX YAML is not supported; ${SUPPORTED}`);
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw new SbomError('SBOM_INVALID', `${label}: not JSON (${err instanceof Error ? err.message : String(err)}); ${SUPPORTED}`, { cause: err });
  }
}
