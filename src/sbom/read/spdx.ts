/** SPDX 2.2/2.3 JSON as Portcullis, Trivy and Syft write it: packages, relationships, extracted licences. */
import type { Distro } from '../model.js';
import { addProp, objects, str, SbomError, SUPPORTED, type Json, type SbomDocument } from './common.js';
import { distroId, Reader, type Draft } from './merge.js';
import { locationsOfProps, stripSlash, subjectOf, type ImageFacts } from './subject.js';

export function readSpdx(doc: Json, label: string, name: string | undefined): SbomDocument {
  const version = str(doc['spdxVersion']) ?? '';
  const m = /^SPDX-(2\.\d+)$/.exec(version);
  if (m === null) throw new SbomError('SBOM_UNSUPPORTED', `${label}: ${version === '' ? 'an empty spdxVersion' : version} is not supported; ${SUPPORTED}`);
  if (doc['packages'] !== undefined && !Array.isArray(doc['packages'])) throw new SbomError('SBOM_INVALID', `${label}: SPDX packages is not an array`);

  const extracted = new Map<string, string>();
  for (const e of objects(doc['hasExtractedLicensingInfos'])) {
    const id = str(e['licenseId']);
    const text = str(e['name']) ?? str(e['extractedText']);
    if (id !== undefined && text !== undefined) extracted.set(id, text);
  }

  const packages = objects(doc['packages']);
  const relationships = objects(doc['relationships']);
  const described = new Set<string>();
  for (const r of relationships) {
    if (str(r['spdxElementId']) === 'SPDXRef-DOCUMENT' && str(r['relationshipType']) === 'DESCRIBES') described.add(str(r['relatedSpdxElement']) ?? '');
  }
  for (const id of Array.isArray(doc['documentDescribes']) ? doc['documentDescribes'] : []) if (typeof id === 'string') described.add(id);

  const reader = new Reader();
  let image: Json | undefined;
  let os: Json | undefined;
  const packageIds = new Set<string>();
  for (const p of packages) {
    const id = str(p['SPDXID']) ?? '';
    const purpose = str(p['primaryPackagePurpose']);
    if (purpose === 'OPERATING-SYSTEM' || id.startsWith('SPDXRef-OperatingSystem')) {
      os ??= p;
      continue;
    }
    const purl = objects(p['externalRefs']).find((r) => str(r['referenceType']) === 'purl');
    const locator = purl === undefined ? undefined : str(purl['referenceLocator']);
    // The described element is the image (or a directory); a described package with a purl is a package too.
    if (purpose === 'CONTAINER' || (described.has(id) && (locator === undefined || locator.startsWith('pkg:oci/')))) {
      image ??= p;
      continue;
    }
    if (locator === undefined) {
      if ((purpose === undefined && !id.startsWith('SPDXRef-Application')) || purpose === 'LIBRARY' || purpose === 'FRAMEWORK') reader.noPurl++;
      continue;
    }
    packageIds.add(id);
    reader.add(draftOfSpdxPackage(p, locator, extracted));
  }

  for (const r of relationships) {
    const from = str(r['spdxElementId']);
    const to = str(r['relatedSpdxElement']);
    if (from === undefined || to === undefined || !packageIds.has(from) || !packageIds.has(to)) continue;
    switch (str(r['relationshipType'])) {
      case 'DEPENDS_ON':
      case 'CONTAINS':
        reader.edge(from, to);
        break;
      case 'DEPENDENCY_OF':
      case 'CONTAINED_BY':
        reader.edge(to, from);
        break;
      default:
        break;
    }
  }

  const docName = str(doc['name']);
  const facts = image === undefined ? undefined : imageFactsOfSpdx(image);
  const subject = subjectOf(facts !== undefined ? { ...facts, ...(facts.name === undefined && docName !== undefined ? { name: docName } : {}) } : docName !== undefined ? { name: docName, props: new Map() } : undefined, name);
  const distro = os === undefined ? undefined : distroOfSpdx(os);
  return { format: 'spdx-json', specVersion: m[1]!, inventory: reader.finish(subject, distro) };
}

/** Trivy states its facts as `Key: value` attribution texts (older) or annotation comments (newer). */
function spdxProps(p: Json): Map<string, string[]> {
  const props = new Map<string, string[]>();
  const texts = [
    ...(Array.isArray(p['attributionTexts']) ? p['attributionTexts'].filter((t): t is string => typeof t === 'string') : []),
    ...objects(p['annotations'])
      .map((a) => str(a['comment']))
      .filter((t): t is string => t !== undefined),
  ];
  for (const t of texts) {
    const m = /^([A-Za-z]+): (.+)$/.exec(t);
    if (m !== null) addProp(props, `aquasecurity:trivy:${m[1]!}`, m[2]!);
  }
  return props;
}

function draftOfSpdxPackage(p: Json, purl: string, extracted: ReadonlyMap<string, string>): Draft {
  const props = spdxProps(p);
  const locations = [...locationsOfProps(props)];
  const sourceInfo = str(p['sourceInfo']);
  // Syft: "acquired package info from DPKG DB: /var/lib/dpkg/status, /usr/share/doc/x/copyright".
  const acquired = sourceInfo === undefined ? null : /^acquired package info from [^:]+: (.+)$/.exec(sourceInfo);
  if (acquired !== null) for (const path of acquired[1]!.split(/, (?=\/)/)) locations.push({ path: stripSlash(path.trim()) });
  // Portcullis: "found at /var/lib/dpkg/status (layer sha256:...), /other".
  const comment = str(p['comment']);
  if (comment?.startsWith('found at ') === true) {
    for (const item of comment.slice('found at '.length).split(/, (?=\/)/)) {
      const m = /^(\/.*?)(?: \(layer ([^)\s]+)\))?$/.exec(item);
      if (m !== null) locations.push({ path: stripSlash(m[1]!), ...(m[2] !== undefined ? { layer: m[2] } : {}) });
    }
  }
  // Portcullis: "built from source package glibc 2.36-9"; Trivy: "built package from: openssl 3.0.11-1~deb12u2".
  const built = sourceInfo === undefined ? null : /^built (?:from source package|package from:) (\S+)(?: (\S+))?$/.exec(sourceInfo);
  const declared = str(p['licenseDeclared']);
  const concluded = str(p['licenseConcluded']);
  const expression = declared !== undefined && declared !== 'NOASSERTION' && declared !== 'NONE' ? declared : concluded !== undefined && concluded !== 'NOASSERTION' && concluded !== 'NONE' ? concluded : undefined;
  const docName = str(p['name']);
  const docVersion = str(p['versionInfo']);
  const ref = str(p['SPDXID']);
  return {
    purl,
    props,
    locations,
    licenses: expression === undefined ? [] : splitAnd(expression).map((l) => extracted.get(l) ?? l),
    label: docName ?? purl,
    ...(ref !== undefined ? { ref } : {}),
    ...(docName !== undefined ? { docName } : {}),
    ...(docVersion !== undefined ? { docVersion } : {}),
    ...(built !== null ? { sourceHint: { name: built[1]!, ...(built[2] !== undefined ? { version: built[2] } : {}) } } : {}),
  };
}

/** `A AND (B OR C)` → [A, B OR C]: the list the writers joined. */
function splitAnd(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && expression.startsWith(' AND ', i)) {
      parts.push(expression.slice(start, i));
      start = i + 5;
      i += 4;
    }
  }
  parts.push(expression.slice(start));
  return parts.map((p) => {
    const t = p.trim();
    return t.startsWith('(') && t.endsWith(')') && balanced(t.slice(1, -1)) ? t.slice(1, -1) : t;
  });
}

function balanced(s: string): boolean {
  let depth = 0;
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

function imageFactsOfSpdx(p: Json): ImageFacts {
  const purlRef = objects(p['externalRefs']).find((r) => str(r['referenceType']) === 'purl');
  const sha256 = objects(p['checksums']).find((c) => str(c['algorithm']) === 'SHA256');
  const name = str(p['name']);
  const version = str(p['versionInfo']);
  const purl = purlRef === undefined ? undefined : str(purlRef['referenceLocator']);
  const hash = sha256 === undefined ? undefined : str(sha256['checksumValue']);
  return {
    props: spdxProps(p),
    ...(name !== undefined ? { name } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(purl !== undefined ? { purl } : {}),
    ...(hash !== undefined ? { sha256: hash } : {}),
  };
}

function distroOfSpdx(p: Json): Distro | undefined {
  const id = str(p['name']);
  if (id === undefined) return undefined;
  const versionId = str(p['versionInfo']);
  const prettyName = str(p['comment']) ?? str(p['description']);
  return { id: distroId(id), ...(versionId !== undefined ? { versionId } : {}), ...(prettyName !== undefined ? { prettyName } : {}) };
}
