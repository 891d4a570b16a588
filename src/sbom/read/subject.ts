/** Package locations and the image an SBOM describes, from the writers' properties and the document's own fields. */
import type { PackageURL as PackageURLT } from 'packageurl-js';
import type { ImageSubject, Location } from '../model.js';
import { first, purlClass, type Props } from './common.js';

export function stripSlash(path: string): string {
  return path.replace(/^\/+/, '');
}

/** Locations from Portcullis's, Syft's and Trivy's properties, in their index order. */
export function locationsOfProps(props: Props): Location[] {
  const indexed = new Map<number, { path?: string; layer?: string }>();
  for (const [key, values] of props) {
    const m = /^(?:portcullis|syft):location:(\d+):(path|layer|layerID)$/.exec(key);
    const value = values[0];
    if (m === null || value === undefined) continue;
    const i = Number(m[1]);
    const slot = indexed.get(i) ?? {};
    if (m[2] === 'path') slot.path = stripSlash(value);
    else slot.layer = value;
    indexed.set(i, slot);
  }
  const out: Location[] = [...indexed.entries()]
    .sort(([a], [b]) => a - b)
    .filter(([, s]) => s.path !== undefined)
    .map(([, s]) => ({ path: s.path!, ...(s.layer !== undefined ? { layer: s.layer } : {}) }));
  // Trivy: one FilePath (language packages only) and the layer that added the package.
  const layer = first(props, 'aquasecurity:trivy:LayerDigest');
  const path = first(props, 'aquasecurity:trivy:FilePath');
  if (path !== undefined || layer !== undefined) out.push({ path: stripSlash(path ?? ''), ...(layer !== undefined ? { layer } : {}) });
  return out;
}

export interface ImageFacts {
  readonly name?: string;
  readonly version?: string;
  readonly purl?: string;
  readonly sha256?: string;
  readonly props: Props;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** Portcullis's non-registry sources: their references are not `name:tag`. */
const TRANSPORT = /^(?:dir|oci-dir|oci-archive|oci|docker-archive|docker-daemon|archive|sbom):/;

export function subjectOf(image: ImageFacts | undefined, fallback: string | undefined): ImageSubject {
  const props: Props = image?.props ?? new Map();
  const given = image?.name ?? fallback ?? 'sbom';
  const split = TRANSPORT.test(given) ? undefined : splitReference(given);
  let oci: PackageURLT | undefined;
  try {
    const p = image?.purl === undefined ? undefined : purlClass().fromString(image.purl);
    if (p?.type === 'oci') oci = p;
  } catch {
    // an image purl that does not parse says nothing
  }
  const repoDigest = first(props, 'aquasecurity:trivy:RepoDigest');
  const digest = [image?.version, oci?.version ?? undefined, repoDigest?.slice(repoDigest.indexOf('@') + 1), split?.digest, image?.sha256 === undefined ? undefined : `sha256:${image.sha256}`].find(
    (d): d is string => d !== undefined && DIGEST.test(d),
  );
  const repoTag = first(props, 'aquasecurity:trivy:RepoTag');
  const tag = first(props, 'portcullis:image:tag') ?? (repoTag === undefined ? undefined : splitReference(repoTag).tag) ?? oci?.qualifiers?.['tag'] ?? split?.tag;
  const name = split?.name;
  const reference = split !== undefined && split.tag === undefined && split.digest === undefined && tag !== undefined ? `${given}:${tag}` : given;

  const platform = first(props, 'portcullis:image:platform')?.split('/');
  const layers: { digest: string }[] = [];
  for (const [key, values] of props) {
    const m = /^portcullis:image:layer:(\d+)$/.exec(key);
    if (m !== null && values[0] !== undefined) layers[Number(m[1])] = { digest: values[0] };
  }
  return {
    reference,
    ...(name !== undefined ? { name } : {}),
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    ...(platform !== undefined && platform.length >= 2
      ? { platform: { os: platform[0]!, architecture: platform[1]!, ...(platform[2] !== undefined ? { variant: platform[2] } : {}) } }
      : {}),
    layers: layers.filter((l) => l !== undefined),
  };
}

function splitReference(ref: string): { name: string; tag?: string; digest?: string } {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at > 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { name: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}
