/**
 * SPDX 2.3 JSON. No kept JavaScript library writes SPDX 2.3 (the SPDX tools are Java and Python),
 * so the document is built here, field by field as the spec's JSON schema defines it. The image
 * is the described package (primaryPackagePurpose CONTAINER); it CONTAINS every package; lockfile
 * dependencies are DEPENDS_ON. License names that are not SPDX ids become LicenseRef- entries with
 * their text in hasExtractedLicensingInfos.
 */
import { createHash, randomUUID } from 'node:crypto';
import { isSpdxExpression, toSpdxId } from './licenses.js';
import type { Inventory, Package } from './model.js';
import type { WriterOptions } from './cyclonedx.js';
import { imagePurl } from './cyclonedx.js';

interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: string;
  filesAnalyzed: boolean;
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  supplier?: string;
  sourceInfo?: string;
  primaryPackagePurpose?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
  comment?: string;
}

const IMAGE_ID = 'SPDXRef-Image';

export function toSpdx(inventory: Inventory, options: WriterOptions & { readonly namespaceId?: string }): string {
  const { subject } = inventory;
  const created = (options.timestamp ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const name = subject.name ?? subject.reference;
  const extracted = new Map<string, string>();

  const image: SpdxPackage = {
    SPDXID: IMAGE_ID,
    name,
    ...(subject.digest !== undefined ? { versionInfo: subject.digest } : {}),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'CONTAINER',
    ...(subject.digest?.startsWith('sha256:') === true ? { checksums: [{ algorithm: 'SHA256', checksumValue: subject.digest.slice(7) }] } : {}),
  };
  const purl = imagePurl(inventory);
  if (purl !== undefined) image.externalRefs = [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }];

  const packages: SpdxPackage[] = [image];
  const relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: IMAGE_ID },
  ];
  if (inventory.distro !== undefined) {
    const d = inventory.distro;
    packages.push({
      SPDXID: 'SPDXRef-OperatingSystem',
      name: d.id,
      ...(d.versionId !== undefined ? { versionInfo: d.versionId } : {}),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'OPERATING-SYSTEM',
      ...(d.prettyName !== undefined ? { comment: d.prettyName } : {}),
    });
    relationships.push({ spdxElementId: IMAGE_ID, relationshipType: 'CONTAINS', relatedSpdxElement: 'SPDXRef-OperatingSystem' });
  }
  for (const p of inventory.packages) {
    const id = spdxId(p);
    packages.push(packageOf(p, id, extracted));
    relationships.push({ spdxElementId: IMAGE_ID, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }
  const ids = new Map(inventory.packages.map((p) => [p.id, spdxId(p)]));
  for (const p of inventory.packages) {
    for (const dep of p.dependsOn) {
      const target = ids.get(dep);
      if (target !== undefined) relationships.push({ spdxElementId: ids.get(p.id)!, relationshipType: 'DEPENDS_ON', relatedSpdxElement: target });
    }
  }

  const namespaceId = options.namespaceId ?? randomUUID();
  const doc = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name,
    documentNamespace: `https://portcullis.dev/spdxdocs/${encodeURIComponent(name.replace(/[/:@]/g, '-'))}-${namespaceId}`,
    creationInfo: { created, creators: [`Tool: portcullis-${options.toolVersion}`] },
    packages,
    relationships,
    ...(extracted.size > 0 ? { hasExtractedLicensingInfos: [...extracted].map(([licenseId, text]) => ({ licenseId, extractedText: text, name: text })) } : {}),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function spdxId(p: Package): string {
  return `SPDXRef-Package-${p.id.replace(/[^A-Za-z0-9.-]/g, '-')}`;
}

function packageOf(p: Package, id: string, extracted: Map<string, string>): SpdxPackage {
  const declared = declaredLicense(p.licenses, extracted);
  const out: SpdxPackage = {
    SPDXID: id,
    name: p.name,
    versionInfo: p.version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: declared,
    copyrightText: 'NOASSERTION',
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl }],
    primaryPackagePurpose: 'LIBRARY',
  };
  if (p.source !== undefined) out.sourceInfo = `built from source package ${p.source.name}${p.source.version !== undefined ? ` ${p.source.version}` : ''}`;
  const where = p.locations.map((l) => `/${l.path}${l.layer !== undefined ? ` (layer ${l.layer})` : ''}`);
  if (where.length > 0) out.comment = `found at ${where.join(', ')}`;
  return out;
}

/** The licenses as one SPDX expression (AND of them), each unknown name as a LicenseRef. */
function declaredLicense(licenses: readonly string[], extracted: Map<string, string>): string {
  if (licenses.length === 0) return 'NOASSERTION';
  const parts = licenses.map((l) => {
    if (toSpdxId(l) === l) return l;
    if (isSpdxExpression(l)) {
      // A LicenseRef inside a stated expression must be declared too.
      for (const ref of l.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []) if (!extracted.has(ref)) extracted.set(ref, ref);
      return licenses.length > 1 && /\s(OR|AND|WITH)\s/i.test(l) ? `(${l})` : l;
    }
    const ref = `LicenseRef-${createHash('sha256').update(l).digest('hex').slice(0, 12)}`;
    extracted.set(ref, l);
    return ref;
  });
  const expression = parts.join(' AND ');
  return isSpdxExpression(expression) ? expression : 'NOASSERTION';
}
