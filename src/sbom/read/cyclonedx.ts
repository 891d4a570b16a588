/** CycloneDX JSON (1.x) as Portcullis, Trivy and Syft write it: components, their properties and evidence, the dependency graph. */
import type { Distro } from '../model.js';
import { addProp, first, isObject, objects, str, SbomError, SUPPORTED, type Json, type SbomDocument } from './common.js';
import { distroId, Reader, type Draft } from './merge.js';
import { locationsOfProps, stripSlash, subjectOf, type ImageFacts } from './subject.js';

export function readCycloneDx(doc: Json, label: string, name: string | undefined): SbomDocument {
  const specVersion = str(doc['specVersion']);
  if (specVersion === undefined) throw new SbomError('SBOM_INVALID', `${label}: CycloneDX document without specVersion`);
  if (!/^1\.\d+$/.test(specVersion)) throw new SbomError('SBOM_UNSUPPORTED', `${label}: CycloneDX ${specVersion} is not supported; ${SUPPORTED}`);
  if (doc['components'] !== undefined && !Array.isArray(doc['components'])) throw new SbomError('SBOM_INVALID', `${label}: CycloneDX components is not an array`);

  const reader = new Reader();
  let os: Json | undefined;
  const walk = (list: unknown): void => {
    for (const c of objects(list)) {
      const type = str(c['type']);
      const purl = str(c['purl']);
      if (type === 'operating-system') os ??= c;
      else if (purl !== undefined) reader.add(draftOfComponent(c, purl));
      else if (type === undefined || type === 'library' || type === 'framework') reader.noPurl++;
      walk(c['components']);
    }
  };
  walk(doc['components']);

  for (const d of objects(doc['dependencies'])) {
    const ref = str(d['ref']);
    if (ref === undefined) continue;
    for (const dep of Array.isArray(d['dependsOn']) ? d['dependsOn'] : []) {
      const target = typeof dep === 'string' ? dep : isObject(dep) ? str(dep['ref']) : undefined;
      if (target !== undefined) reader.edge(ref, target);
    }
  }

  const metadata = isObject(doc['metadata']) ? doc['metadata'] : undefined;
  const image = metadata !== undefined && isObject(metadata['component']) ? metadata['component'] : undefined;
  const subject = subjectOf(image === undefined ? undefined : imageFactsOfComponent(image), name);
  const distro = os !== undefined ? distroOfOsComponent(os) : undefined;
  return { format: 'cyclonedx-json', specVersion, inventory: reader.finish(subject, distro) };
}

function propsOf(c: Json): Map<string, string[]> {
  const props = new Map<string, string[]>();
  for (const p of objects(c['properties'])) {
    const key = str(p['name']);
    const value = typeof p['value'] === 'string' ? p['value'] : undefined;
    if (key !== undefined && value !== undefined) addProp(props, key, value);
  }
  return props;
}

function draftOfComponent(c: Json, purl: string): Draft {
  const props = propsOf(c);
  const evidence = isObject(c['evidence']) ? c['evidence'] : undefined;
  const occurrences = objects(evidence?.['occurrences'])
    .map((o) => str(o['location']))
    .filter((p): p is string => p !== undefined)
    .map((path) => ({ path: stripSlash(path) }));
  const licenses: string[] = [];
  for (const l of objects(c['licenses'])) {
    const expression = str(l['expression']);
    const license = isObject(l['license']) ? l['license'] : undefined;
    const text = expression ?? str(license?.['id']) ?? str(license?.['name']);
    if (text !== undefined) licenses.push(text);
  }
  const docName = str(c['name']);
  const docVersion = str(c['version']);
  const ref = str(c['bom-ref']);
  return {
    purl,
    props,
    locations: [...locationsOfProps(props), ...occurrences],
    licenses,
    label: docName ?? purl,
    ...(ref !== undefined ? { ref } : {}),
    ...(docName !== undefined ? { docName } : {}),
    ...(docVersion !== undefined ? { docVersion } : {}),
  };
}

function imageFactsOfComponent(c: Json): ImageFacts {
  const sha256 = objects(c['hashes']).find((h) => str(h['alg']) === 'SHA-256');
  const name = str(c['name']);
  const version = str(c['version']);
  const purl = str(c['purl']);
  const hash = sha256 === undefined ? undefined : str(sha256['content']);
  return {
    props: propsOf(c),
    ...(name !== undefined ? { name } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(purl !== undefined ? { purl } : {}),
    ...(hash !== undefined ? { sha256: hash } : {}),
  };
}

function distroOfOsComponent(c: Json): Distro | undefined {
  const props = propsOf(c);
  const id = first(props, 'syft:distro:id') ?? str(c['name']);
  if (id === undefined) return undefined;
  const versionId = first(props, 'syft:distro:versionID') ?? str(c['version']);
  const codename = first(props, 'syft:distro:versionCodename');
  const prettyName = first(props, 'syft:distro:prettyName') ?? str(c['description']);
  const idLike = [...props.entries()].filter(([k]) => /^syft:distro:idLike:\d+$/.test(k)).flatMap(([, v]) => v);
  return {
    id: distroId(id),
    ...(versionId !== undefined ? { versionId } : {}),
    ...(codename !== undefined ? { versionCodename: codename } : {}),
    ...(prettyName !== undefined ? { prettyName } : {}),
    ...(idLike.length > 0 ? { idLike } : {}),
  };
}
